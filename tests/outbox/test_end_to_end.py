"""The platform is told, as a trust-and-safety engineer sets it up: a webhook, an upload that
matches a bank (a verdict), a specialist's decision on its case, and `safeguard worker`."""

from __future__ import annotations

import json
from pathlib import Path

from safeguard.outbox import signature
from safeguard.samples import write_scenes
from tests.conftest import Cli
from tests.outbox.receiver import Receiver


def test_verdicts_and_decisions_reach_the_platform_signed(
    cli: Cli, receiver: Receiver, tmp_path: Path
) -> None:
    (photo,) = write_scenes(tmp_path / "photos", 1, first_seed=5)  # benign, generated
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "add", "known", photo).exit_code == 0
    assert cli("users", "add", "spec", "--role", "child_safety").exit_code == 0
    added = cli("webhooks", "add", "platform", receiver.url)
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()

    events = tmp_path / "events.jsonl"
    upload = {"kind": "upload", "account_id": "acct-1", "path": str(photo), "id": "e1"}
    events.write_text(json.dumps(upload) + "\n")
    (verdict,) = cli.lines("events", "submit", events, "--json")
    assert verdict["verdict"] == "hold" and verdict["case_id"] is not None
    assert receiver.received == [], "nothing is sent until a worker runs"
    (waiting,) = cli.json("webhooks", "pending")
    assert waiting["topic"] == "verdict"

    first_run = cli("worker", "--once")
    assert first_run.exit_code == 0, first_run.output
    # the periodic tasks ran too: an audit checkpoint and an evidence purge
    assert "task audit-checkpoint done" in first_run.stderr, first_run.stderr
    assert "task evidence-purge done" in first_run.stderr, first_run.stderr
    (told,) = receiver.received
    assert told.headers["x-safeguard-topic"] == "verdict"
    assert told.headers["x-safeguard-signature"] == signature(
        secret, told.headers["x-safeguard-timestamp"], told.body
    )
    payload = told.json()["payload"]
    assert payload["event_id"] == verdict["event_id"] and payload["id"] == "e1"
    assert (payload["verdict"], payload["case_id"]) == ("hold", verdict["case_id"])

    case_id = verdict["case_id"]
    decided = cli("--user", "spec", "cases", "decide", case_id, "--decision", "not_abuse")
    assert decided.exit_code == 0, decided.output
    assert cli("worker", "--once").exit_code == 0
    decision = receiver.received[-1]
    assert decision.headers["x-safeguard-topic"] == "decision"
    body = decision.json()["payload"]
    assert (body["case_id"], body["decision"]) == (case_id, "not_abuse")
    assert len(receiver.received) == 2 and len(set(receiver.actions)) == 2
