"""The act-and-review loop through the CLI, as a trust-and-safety engineer and reviewers
use it: events in, verdicts out, cases, claims, decisions that feed banks, roles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import Cli


def _events(tmp_path: Path, *events: dict[str, object]) -> Path:
    f = tmp_path / f"events-{len(list(tmp_path.glob('events-*')))}.jsonl"
    f.write_text("".join(json.dumps(e) + "\n" for e in events))
    return f


def _submit(cli: Cli, path: Path, *args: str) -> list[dict]:  # type: ignore[type-arg]
    result = cli("events", "submit", path, "--json", *args)
    assert result.exit_code in (0, 1), result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def people(cli: Cli) -> None:
    assert cli("users", "add", "spec", "--role", "child_safety").exit_code == 0
    assert cli("users", "add", "mod", "--role", "moderator").exit_code == 0
    assert cli("users", "add", "aud", "--role", "auditor").exit_code == 0


def test_match_holds_opens_a_case_and_a_confirmed_decision_banks_the_media(
    cli: Cli, people: None, train_images: list[Path], val_images: list[Path], tmp_path: Path
) -> None:
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "create", "confirmed").exit_code == 0
    assert cli("bank", "add", "known", *train_images[:3]).exit_code == 0
    first = _events(
        tmp_path,
        {"kind": "upload", "account_id": "acct-1", "path": str(train_images[0]), "id": "e1"},
        {"kind": "upload", "account_id": "acct-2", "path": str(val_images[0])},
    )
    v1, v2 = _submit(cli, first)
    assert v1["verdict"] == "hold" and v1["rules"] == ["default-known-match"]
    assert v1["case_id"] is not None and v1["matches"][0]["bank"] == "known"
    assert v2["verdict"] == "allow" and v2["case_id"] is None and v2["rules"] == []
    # a second match for the same account joins its case; a resubmitted id answers the same
    second = _events(
        tmp_path,
        {"kind": "upload", "account_id": "acct-1", "path": str(train_images[1])},
        {"kind": "upload", "account_id": "acct-1", "path": str(train_images[0]), "id": "e1"},
    )
    v3, v4 = _submit(cli, second)
    assert v3["case_id"] == v1["case_id"] and v3["verdict"] == "hold"
    assert v4["event_id"] == v1["event_id"] and v4.get("repeated") is True
    case_id = v1["case_id"]

    # a moderator without the child-safety role neither sees nor opens it
    listed = cli.json("--user", "mod", "cases", "list")
    assert all(c["id"] != case_id for c in listed)
    denied = cli("--user", "mod", "cases", "show", case_id)
    assert (
        denied.exit_code == 2
        and "may not see" in denied.output
        and "Traceback" not in denied.output
    )
    assert cli("--user", "aud", "cases", "list").exit_code == 2
    # auditors read the audit log and nothing else: not even submitting events
    refused = cli("--user", "aud", "events", "submit", first, "--json")
    assert refused.exit_code == 2 and "may not submit events" in refused.output

    shown = cli.json("--user", "spec", "cases", "show", case_id)
    assert shown["account_id"] == "acct-1" and shown["state"] == "open"
    assert sorted(i["kind"] for i in shown["items"]) == ["match", "match"]
    assert cli.json("--user", "spec", "cases", "claim", case_id)["state"] == "in_review"
    decided = cli.json(
        "--user",
        "spec",
        "cases",
        "decide",
        case_id,
        "--decision",
        "confirmed",
        "--add-to-bank",
        "confirmed",
    )
    assert decided["state"] == "decided" and decided["decision"] == "confirmed"
    assert len(decided["added"]) == 2 and all(a["bank"] == "confirmed" for a in decided["added"])
    banked = cli.lines("bank", "export", "confirmed", "--format", "jsonl")
    assert len(banked) == 2 and {b["source"] for b in banked} == {f"case:{case_id}"}
    # a second decision loses, naming the winner
    again = cli("--user", "spec", "cases", "decide", case_id, "--decision", "not_abuse")
    assert again.exit_code == 2 and "already decided by spec" in again.output
    # and the media now match the confirmed bank too
    matched = cli.lines("match", train_images[1])
    assert {m["bank"] for m in matched[0]["matches"]} == {"known", "confirmed"}

    audit = cli("audit", "verify", "--json")
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.stdout)["ok"] is True


def test_not_abuse_puts_the_upload_in_a_negative_bank_and_it_is_then_allowed(
    cli: Cli, people: None, train_images: list[Path], tmp_path: Path
) -> None:
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "add", "known", train_images[5]).exit_code == 0
    copy = tmp_path / "copy.jpg"
    Image.open(train_images[5]).convert("RGB").save(copy, quality=50)  # same picture, other bytes
    upload = _events(tmp_path, {"kind": "upload", "account_id": "acct-9", "path": str(copy)})
    (v,) = _submit(cli, upload)
    assert v["verdict"] == "hold" and v["matches"][0]["signal_type"] in ("pdq", "local")
    decided = cli.json("--user", "spec", "cases", "decide", v["case_id"], "--decision", "not_abuse")
    assert decided["decision"] == "not_abuse" and decided["added"][0]["bank"] == "not-abuse"
    assert cli.json("bank", "show", "not-abuse")["negative"] is True
    (again,) = _submit(cli, upload)
    assert again["verdict"] == "allow" and again["case_id"] is None and again["matches"] == []


def test_bad_events_get_their_own_errors_and_the_rest_are_judged(
    cli: Cli, train_images: list[Path], tmp_path: Path
) -> None:
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "add", "known", train_images[0]).exit_code == 0
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    f = tmp_path / "mixed.jsonl"
    f.write_text(
        "\n".join(
            [
                json.dumps({"kind": "upload", "account_id": "a", "path": str(train_images[0])}),
                "{not json",
                json.dumps({"kind": "telepathy", "account_id": "a"}),
                json.dumps({"kind": "upload", "path": str(train_images[0])}),
                json.dumps({"kind": "upload", "account_id": "a", "path": str(broken)}),
                json.dumps({"kind": "upload", "account_id": "a", "hashes": {"md5": "xyz"}}),
                json.dumps(
                    {"kind": "report", "account_id": "a", "reporter": "b", "reason": "spam"}
                ),
            ]
        )
        + "\n"
    )
    result = cli("events", "submit", f, "--json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 7
    assert out[0]["verdict"] == "hold"
    assert "not JSON" in out[1]["error"]
    assert "unknown event kind" in out[2]["error"]
    assert "account_id" in out[3]["error"]
    assert out[4]["verdict"] is None and out[4]["error"]
    assert "md5" in out[5]["error"]
    # the report joins the account's open case
    assert out[6]["verdict"] == "allow" and out[6]["case_id"] == out[0]["case_id"]


def test_preserved_media_is_kept_encrypted_until_its_clock_runs_out(
    cli: Cli, people: None, train_images: list[Path], tmp_path: Path
) -> None:
    """A platform that keeps evidence: the upload that opens a case is stored encrypted;
    the confirmed decision starts its clock; the purge after it deletes it, audited."""
    key = tmp_path / "evidence.keys"
    made = cli("evidence", "new-key")
    assert made.exit_code == 0, made.output
    key.write_text(made.stdout.strip() + "\n")
    cli.env.update(SAFEGUARD_PRESERVE_MEDIA="1", SAFEGUARD_EVIDENCE_KEY_FILE=str(key))
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "add", "known", train_images[7]).exit_code == 0
    upload = _events(
        tmp_path, {"kind": "upload", "account_id": "ev-1", "path": str(train_images[7])}
    )
    (v,) = _submit(cli, upload)
    assert v["verdict"] == "hold" and v["notes"][0].startswith("media kept as evidence")
    (item,) = cli.json("--user", "spec", "evidence", "list", "--case", v["case_id"])
    assert item["retain_until"] is None  # kept while the case is undecided
    cli.json("--user", "spec", "cases", "decide", v["case_id"], "--decision", "confirmed")
    (item,) = cli.json("--user", "spec", "evidence", "list", "--case", v["case_id"])
    assert item["retain_until"] is not None
    kept = cli.json("evidence", "purge", "--as-of", item["retain_until"][:10])
    assert kept["deleted"] == []
    gone = cli.json("evidence", "purge", "--as-of", "2099-01-01T00:00:00+00:00")
    assert gone["deleted"] == [item["id"]]
    assert cli.json("evidence", "list", "--case", v["case_id"]) == []
    assert json.loads(cli("audit", "verify", "--json").stdout)["ok"] is True
