"""A decided case with two preserved files, made through the CLI as a platform and a
specialist make one; the reporter's configuration; the CyberTipline stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.refer.standin import StandIn

REPORTER = {
    "SAFEGUARD_REPORTER_ORG": "Example Forum Ltd",
    "SAFEGUARD_REPORTER_FIRST_NAME": "Alex",
    "SAFEGUARD_REPORTER_LAST_NAME": "Morgan",
    "SAFEGUARD_REPORTER_EMAIL": "safety@example.org",
    "SAFEGUARD_REPORTER_URL": "https://forum.example.org",
}
USER, PASSWORD = "esp-test", "not-a-real-password"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn(USER, PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def decided_case(cli: Cli, images: list[Path], tmp_path: Path, account: str) -> int:
    """A case of `account` with two matched uploads kept as evidence, confirmed by `spec`."""
    if "spec" not in cli("users", "list").stdout:
        assert cli("users", "add", "spec", "--role", "child_safety").exit_code == 0
        assert cli("users", "add", "mod", "--role", "moderator").exit_code == 0
    key = tmp_path / "evidence.keys"
    if not key.exists():
        made = cli("evidence", "new-key")
        assert made.exit_code == 0, made.output
        key.write_text(made.stdout.strip() + "\n")
    cli.env.update(SAFEGUARD_PRESERVE_MEDIA="1", SAFEGUARD_EVIDENCE_KEY_FILE=str(key), **REPORTER)
    if cli("bank", "show", "known").exit_code != 0:
        assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "add", "known", *images).exit_code == 0
    details = {
        "screen_name": f"{account}-name",
        "profile_url": f"https://forum.example.org/u/{account}",
        "ip": "203.0.113.7",
        "port": 51234,
        "disabled_at": "2026-12-01T10:00:00+00:00",
        "user_notified": False,
    }
    events = tmp_path / f"events-{account}.jsonl"
    events.write_text(
        "".join(
            json.dumps(
                {
                    "kind": "upload",
                    "account_id": account,
                    "path": str(img),
                    "where": f"https://forum.example.org/t/{n}",
                    "account": details,
                }
            )
            + "\n"
            for n, img in enumerate(images)
        )
    )
    result = cli("events", "submit", events, "--json")
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    case_id = verdicts[0]["case_id"]
    assert case_id and all(v["case_id"] == case_id for v in verdicts)
    decided = cli.json("--user", "spec", "cases", "decide", case_id, "--decision", "confirmed")
    assert decided["state"] == "decided"
    return int(case_id)
