"""Referrals through the CLI against the CyberTipline stand-in: build a draft that validates
against NCMEC's XSD, approve, submit, upload two files (an injected 5xx on upload is
retried), finish, store the report id; a validation error surfaces on the case and in
`referrals failed`; the NCA record; the same content never referred twice; moderators may
not see or make referrals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema

from safeguard.refer.cybertipline import SCHEMA_PATH
from tests.conftest import Cli
from tests.refer.conftest import PASSWORD, REPORTER, USER, decided_case
from tests.refer.standin import StandIn


def _agency(cli: Cli, standin: StandIn) -> None:
    cli.env.update(
        SAFEGUARD_NCMEC_URL=standin.url,
        SAFEGUARD_NCMEC_USERNAME=USER,
        SAFEGUARD_NCMEC_PASSWORD=PASSWORD,
    )


def test_draft_approve_submit_two_files_finish(
    cli: Cli, standin: StandIn, train_images: list[Path], tmp_path: Path
) -> None:
    _agency(cli, standin)
    case_id = decided_case(cli, train_images[20:22], tmp_path, "acct-ref")
    out = tmp_path / "report.xml"
    built = cli.json(
        "--user",
        "spec",
        "referrals",
        "build",
        case_id,
        "--agency",
        "ncmec",
        "--out",
        out,
        "--annotation",
        "sextortion",
    )
    assert built["valid"] is True and built["missing"] == [], built
    assert xmlschema.XMLSchema(str(SCHEMA_PATH)).is_valid(str(out))
    xml = out.read_text()
    assert "acct-ref" in xml and "51234" in xml and "203.0.113.7" in xml

    referral = built["referral_id"]
    # nothing is sent without approval
    early = cli("--user", "spec", "referrals", "submit", referral)
    assert early.exit_code == 2 and "approve" in early.output
    assert cli.json("--user", "spec", "referrals", "approve", referral)["state"] == "approved"

    standin.fail("upload", 500, times=1)  # the first upload fails; the client retries it
    sent = cli.json("--user", "spec", "referrals", "submit", referral)
    assert sent["state"] == "finished", sent
    report_id = sent["report_id"]
    assert list(standin.reports) == [report_id]  # exactly one report
    stored = standin.reports[report_id]
    assert stored["finished"] and len(stored["files"]) == 2
    assert sorted(f["file_id"] for f in sent["files"]) == sorted(stored["files"])
    assert all(f["described"] for f in sent["files"])

    status = cli.json("--user", "spec", "referrals", "status", referral)
    assert status["state"] == "finished" and status["report_id"] == report_id
    shown = cli.json("--user", "spec", "cases", "show", case_id)
    assert shown["state"] == "referred"
    assert any(i["kind"] == "referral" for i in shown["items"])
    # the report started the evidence clock
    kept = cli.json("--user", "spec", "evidence", "list", "--case", case_id)
    assert kept and all(e["clock_reason"] == "ncmec_report" for e in kept)
    assert json.loads(cli("audit", "verify", "--json").stdout)["ok"] is True

    # a follow-up on the same account carries the earlier report id
    second = decided_case(cli, train_images[22:23], tmp_path, "acct-ref")
    follow = tmp_path / "follow.xml"
    cli.json("--user", "spec", "referrals", "build", second, "--agency", "ncmec", "--out", follow)
    assert "priorCTReports" in follow.read_text() and report_id in follow.read_text()


def test_a_validation_error_surfaces_on_the_case_and_in_failed(
    cli: Cli, standin: StandIn, train_images: list[Path], tmp_path: Path
) -> None:
    _agency(cli, standin)
    case_id = decided_case(cli, train_images[24:25], tmp_path, "acct-bad")
    built = cli.json("--user", "spec", "referrals", "build", case_id, "--agency", "ncmec")
    cli.json("--user", "spec", "referrals", "approve", built["referral_id"])
    standin.reject("submit", 4100, "the report failed validation")
    result = cli("--user", "spec", "referrals", "submit", built["referral_id"], "--json")
    assert result.exit_code == 1
    failed = json.loads(result.stdout)
    assert failed["state"] == "failed" and failed["error_kind"] == "validation"
    assert "failed validation" in failed["last_error"]
    (listed,) = cli.json("--user", "spec", "referrals", "failed")
    assert listed["referral_id"] == built["referral_id"]
    items = cli.json("--user", "spec", "cases", "show", case_id)["items"]
    assert any(i["kind"] == "referral" and "failed validation" in json.dumps(i) for i in items)
    assert standin.reports == {}


def test_nca_record_and_content_never_referred_twice(
    cli: Cli, train_images: list[Path], tmp_path: Path
) -> None:
    case_id = decided_case(cli, train_images[26:27], tmp_path, "acct-uk")
    out = tmp_path / "record.json"
    built = cli.json(
        "--user", "spec", "referrals", "build", case_id, "--agency", "nca", "--out", out
    )
    assert built["valid"] is True, built
    record = json.loads(out.read_text())
    (content,) = record["content"]
    assert content["hashes"]["sha256"] and content["detected_by"].startswith("hash match")
    assert content["location"] == "https://forum.example.org/t/0"
    assert record["account"]["id"] == "acct-uk"
    capture = record["account"]["ip_captures"][0]
    assert capture["ip"] == "203.0.113.7" and capture["port"] == 51234
    assert "connected_accounts" in record and "declaration" in record
    referral = built["referral_id"]
    approved = cli.json("--user", "spec", "referrals", "approve", referral)
    assert approved["state"] == "approved"
    shown = cli("--user", "spec", "referrals", "show", referral, "--payload")
    assert '"made_by": "spec"' in shown.stdout
    summary = cli("--user", "spec", "referrals", "show", referral, "--summary")
    assert summary.exit_code == 0, summary.output
    assert content["hashes"]["sha256"] in summary.stdout and "51234" in summary.stdout
    assert cli.json("--user", "spec", "referrals", "submit", referral)["state"] == "finished"
    again = cli("--user", "spec", "referrals", "build", case_id, "--agency", "nca")
    assert again.exit_code == 2 and "already referred" in again.output


# store-independent (the flow itself runs on both stores above)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_moderators_cannot_build_see_or_send_referrals(
    cli: Cli, train_images: list[Path], tmp_path: Path
) -> None:
    case_id = decided_case(cli, train_images[28:29], tmp_path, "acct-role")
    built = cli.json("--user", "spec", "referrals", "build", case_id, "--agency", "nca")
    for args in (
        ("build", case_id, "--agency", "nca"),
        ("show", built["referral_id"]),
        ("approve", built["referral_id"]),
        ("submit", built["referral_id"]),
        ("failed",),
    ):
        refused = cli("--user", "mod", "referrals", *args)
        assert refused.exit_code == 2 and "may not" in refused.output, args
        assert "Traceback" not in refused.output


PATHWAYS_RULES = """
rules:
  - name: hold-known
    when: {kind: upload, match: {}}
    then: {verdict: hold, case: true}
  - name: risky-contact
    when:
      kind: pathways_flag
      pathways: {min_score: 0.8}
    then:
      case: {priority: 3, child_safety: true}
"""


# store-independent (the flow itself runs on both stores above)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_pathways_case_with_no_media_is_an_online_enticement_report(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli("users", "add", "spec", "--role", "child_safety").exit_code == 0
    cli.env.update(REPORTER)
    rules = tmp_path / "rules.yaml"
    rules.write_text(PATHWAYS_RULES)
    assert cli("rules", "apply", rules).exit_code == 0
    flag = {
        "kind": "pathways_flag",
        "account_id": "acct-path",
        "score": 0.93,
        "reasons": ["contacts_many_minors_outside_own_groups", "moves_to_private_channel"],
        "where": "https://forum.example.org/groups/7",
        "account": {"screen_name": "acct-path-name", "ip": "198.51.100.4", "port": 443},
    }
    events = tmp_path / "flags.jsonl"
    events.write_text(json.dumps(flag) + "\n")
    (verdict,) = [
        json.loads(x) for x in cli("events", "submit", events, "--json").stdout.splitlines()
    ]
    case_id = verdict["case_id"]
    assert case_id
    cli.json("--user", "spec", "cases", "decide", case_id, "--decision", "escalate")
    out = tmp_path / "enticement.xml"
    built = cli.json(
        "--user",
        "spec",
        "referrals",
        "build",
        case_id,
        "--agency",
        "ncmec",
        "--out",
        out,
        "--victim",
        "acct-child-1",
    )
    assert built["valid"] is True, built
    assert xmlschema.XMLSchema(str(SCHEMA_PATH)).is_valid(str(out))
    xml = out.read_text()
    assert "Online Enticement of Children for Sexual Acts" in xml
    assert "moves_to_private_channel" in xml and "acct-child-1" in xml
    assert "<fileDetails" not in xml


# store-independent (the flow itself runs on both stores above)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_submit_whose_answer_was_lost_is_not_sent_again_on_its_own(
    cli: Cli, standin: StandIn, train_images: list[Path], tmp_path: Path
) -> None:
    _agency(cli, standin)
    case_id = decided_case(cli, train_images[35:36], tmp_path, "acct-lost")
    referral = cli.json("--user", "spec", "referrals", "build", case_id, "--agency", "ncmec")[
        "referral_id"
    ]
    cli.json("--user", "spec", "referrals", "approve", referral)
    standin.fail("submit", 500, after=True)  # the agency made the report; its answer is lost
    lost = cli("--user", "spec", "referrals", "submit", referral, "--json")
    assert lost.exit_code == 1 and json.loads(lost.stdout)["state"] == "submitting"
    assert [r["referral_id"] for r in cli.json("--user", "spec", "referrals", "failed")] == [
        referral
    ]
    again = cli("--user", "spec", "referrals", "submit", referral)
    assert again.exit_code == 2 and "--resubmit" in again.output
    assert standin.calls_to("submit") == 1  # nothing was sent again
    # after checking with the agency, a person decides to submit again
    done = cli.json("--user", "spec", "referrals", "submit", referral, "--resubmit")
    assert done["state"] == "finished" and standin.calls_to("submit") == 2
