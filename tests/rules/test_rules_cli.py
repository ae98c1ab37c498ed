"""`safeguard rules ...` as an admin and a moderator use it: validate with every problem at
its line, apply as a new version (a rejected file leaves the active set), show, history,
and the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from safeguard.store import Database
from safeguard.store.audit_tables import AuditEntry
from safeguard.store.review_tables import Event
from safeguard.store.rules_tables import RuleHit as RuleHitRow
from tests.conftest import Cli

GOOD = """\
rules:
  - name: known-block
    when:
      kind: upload
      match: {banks: [known], max_distance: 10}
    then: {verdict: block, case: {priority: 3}, webhook: true}
  - name: many-reports
    shadow: true
    when:
      kind: report
      reports: {at_least: 3, within: 24h}
    then: {verdict: hold, review: true}
"""

BAD = """\
rules:
  - name: known-block
    when:
      kind: upload
      match: {banks: [unknown-bank]}
    then: {verdict: banish}
  - name: known-block
    when: {}
    then: {review: true}
"""


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_validate_reports_every_problem_with_its_line(cli: Cli, tmp_path: Path) -> None:
    assert cli("bank", "create", "known").exit_code == 0
    good = _file(tmp_path, "good.yaml", GOOD)
    assert cli.json("rules", "validate", good) == {"ok": True, "rules": 2, "shadow": 1}
    ok = cli("rules", "validate", good)
    assert ok.exit_code == 0 and "2 rule(s), 1 in shadow mode" in ok.stdout

    bad = _file(tmp_path, "bad.yaml", BAD)
    result = cli("rules", "validate", bad)
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{bad}: line 5: ") and "unknown bank 'unknown-bank'" in lines[0]
    assert lines[1].startswith(f"{bad}: line 6: ") and "'banish'" in lines[1]
    assert lines[2].startswith(f"{bad}: line 7: ") and "duplicate rule name" in lines[2]
    assert lines[3].startswith(f"{bad}: line 8: ") and "at least one condition" in lines[3]
    assert len(lines) == 4
    as_json = cli("rules", "validate", bad, "--json")
    assert as_json.exit_code == 2
    found = json.loads(as_json.stdout)
    assert found["ok"] is False and [p["line"] for p in found["problems"]] == [5, 6, 7, 8]

    missing = cli("rules", "validate", tmp_path / "nowhere.yaml")
    assert missing.exit_code == 2 and "error: cannot read" in missing.stderr


def test_apply_show_history_and_a_rejected_apply(cli: Cli, db_url: str, tmp_path: Path) -> None:
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("users", "add", "mod", "--role", "moderator").exit_code == 0
    shown = cli("rules", "show")
    assert shown.exit_code == 0 and "built-in default" in shown.stderr
    assert "default-known-match" in shown.stdout
    assert cli.json("rules", "show")["built_in"] is True

    good = _file(tmp_path, "good.yaml", GOOD)
    assert cli.json("rules", "apply", good) == {"ok": True, "version": 1, "rules": 2, "shadow": 1}
    applied = cli("rules", "apply", good)
    assert applied.exit_code == 0 and "applied rule set version 2" in applied.stdout

    rejected = cli("rules", "apply", _file(tmp_path, "bad.yaml", BAD))
    assert rejected.exit_code == 2 and "nothing was applied" in rejected.stderr
    assert "line 6" in rejected.stderr
    denied = cli("--user", "mod", "rules", "apply", good)
    assert denied.exit_code == 2 and "may not apply rule sets" in denied.stderr
    assert "Traceback" not in denied.output

    active = cli.json("rules", "show")
    assert active["version"] == 2 and active["active"] and active["text"] == GOOD
    assert active["rules"] == ["known-block", "many-reports"] and active["shadow"] == [
        "many-reports"
    ]
    text = cli("rules", "show", "--version", "1")
    assert text.stdout == GOOD and "version 1 (not active)" in text.stderr
    history = cli.json("--user", "mod", "rules", "history")
    assert [(h["version"], h["active"]) for h in history] == [(2, True), (1, False), (0, False)]
    table = cli("rules", "history")
    assert table.exit_code == 0 and "known-block" in table.stdout
    assert cli("rules", "show", "--version", "9").exit_code == 2

    db = Database.open(db_url)
    try:
        with db.transaction() as s:
            versions = s.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "rules.apply")
            ).all()
    finally:
        db.close()
    assert sorted(d["version"] for d in versions) == [1, 2]


def test_report_through_the_cli(cli: Cli, db_url: str) -> None:
    now = datetime.now(UTC)
    db = Database.open(db_url)
    try:
        with db.write_transaction() as s:
            event = Event(kind="report", account_id="acct", verdict="allow", received_at=now)
            s.add(event)
            s.flush()
            s.add(
                RuleHitRow(
                    event_id=event.id,
                    account_id="acct",
                    rule_set=1,
                    rule="many-reports",
                    shadow=True,
                    verdict="hold",
                    at=now - timedelta(hours=2),
                )
            )
    finally:
        db.close()
    report = cli.json("rules", "report", "--since", "1d")
    (row,) = report["rules"]
    assert row["rule"] == "many-reports" and row["shadow"] is True
    assert row["changed_verdict"] == 1 and row["stricter"] == 1 and row["verdicts"] == {"hold": 1}
    assert cli.json("rules", "report", "--since", "1h")["rules"] == []
    iso = (now - timedelta(days=1)).date().isoformat()
    assert len(cli.json("rules", "report", "--since", iso, "--until", "1h")["rules"]) == 1
    table = cli("rules", "report")
    assert table.exit_code == 0 and "many-reports" in table.stdout and "shadow" in table.stdout
    bad = cli("rules", "report", "--since", "last tuesday")
    assert bad.exit_code == 2 and "--since 'last tuesday'" in bad.stderr
