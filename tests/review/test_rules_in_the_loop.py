"""Rules in the loop, through the CLI: a shadow rule changes no verdict and is counted by
`rules report`; flood quarantine pauses an entry that suddenly matches a burst of uploads,
downgrades its pending blocks to holds, and a reviewer releases it."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import Cli

BLOCK = """
rules:
  - name: block-known
    when:
      kind: upload
      match: {banks: [known]}
    then:
      verdict: block
      case: {priority: 2, child_safety: true}
"""

SHADOWED = """
rules:
  - name: hold-known
    when:
      kind: upload
      match: {banks: [known]}
    then:
      verdict: hold
      case: true
  - name: try-blocking
    shadow: true
    when:
      kind: upload
      match: {banks: [known], max_distance: 0}
    then:
      verdict: block
"""


def _apply(cli: Cli, tmp_path: Path, text_: str) -> None:
    f = tmp_path / "rules.yaml"
    f.write_text(text_)
    result = cli("rules", "apply", f)
    assert result.exit_code == 0, result.output


def _submit(cli: Cli, tmp_path: Path, events: list[dict[str, object]]) -> list[dict]:  # type: ignore[type-arg]
    f = tmp_path / "events.jsonl"
    f.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = cli("events", "submit", f, "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_shadow_rule_changes_nothing_and_is_reported(
    cli: Cli, train_images: list[Path], tmp_path: Path
) -> None:
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "add", "known", train_images[30]).exit_code == 0
    _apply(cli, tmp_path, SHADOWED)
    (v,) = _submit(
        cli, tmp_path, [{"kind": "upload", "account_id": "s1", "path": str(train_images[30])}]
    )
    assert v["verdict"] == "hold" and v["rules"] == ["hold-known"]
    assert v["shadow_rules"] == ["try-blocking"]
    report = cli.json("rules", "report", "--since", "1h")
    rows = {r["rule"]: r for r in report["rules"]}
    assert rows["try-blocking"]["shadow"] is True and rows["try-blocking"]["events"] == 1
    assert rows["try-blocking"]["changed_verdict"] == 1
    assert rows["hold-known"]["events"] == 1 and rows["hold-known"]["shadow"] is False


def test_flood_quarantine_pauses_a_bursting_entry_and_review_releases_it(
    cli: Cli, db_url: str, train_images: list[Path], tmp_path: Path
) -> None:
    cli.env["SAFEGUARD_FLOOD_MIN"] = "5"
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "add", "known", train_images[31]).exit_code == 0
    _apply(cli, tmp_path, BLOCK)
    photo = str(train_images[31])
    burst = [{"kind": "upload", "account_id": f"f{i}", "path": photo} for i in range(5)]
    verdicts = _submit(cli, tmp_path, burst)
    assert [v["verdict"] for v in verdicts] == ["block"] * 5  # judged before the burst was seen
    (paused,) = cli.json("cases", "quarantined")
    assert paused["bank"] == "known" and "5 matches" in paused["reason"]
    # the blocks already given on it are now holds
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = (
            conn.execute(text("select verdict from events where kind = 'upload'")).scalars().all()
        )
    engine.dispose()
    assert sorted(stored) == ["hold"] * 5
    # while paused, its matches hold
    (late,) = _submit(cli, tmp_path, [{"kind": "upload", "account_id": "f9", "path": photo}])
    assert late["verdict"] == "hold"
    # the entry waits for a reviewer as a case; confirming it releases the pause
    entry_case = [c for c in cli.json("cases", "list") if c["account_id"].startswith("bank-entry:")]
    assert len(entry_case) == 1 and entry_case[0]["reason"] == "flood-quarantine"
    cli.json("cases", "decide", entry_case[0]["id"], "--decision", "confirmed")
    assert cli.json("cases", "quarantined") == []
    (after,) = _submit(cli, tmp_path, [{"kind": "upload", "account_id": "f10", "path": photo}])
    assert after["verdict"] == "block"
    audit = cli("audit", "list", "--action", "quarantine.pause", "--json")
    assert audit.exit_code == 0 and "quarantine.pause" in audit.stdout


WATCH = """
rules:
  - name: watch-known
    when:
      kind: upload
      match: {banks: [known]}
    then: {verdict: hold, case: true, watchlist: true}
  - name: report-on-watched
    when: {kind: report, watchlisted: true}
    then: {verdict: hold, case: {priority: 2}}
"""


def test_a_watchlist_action_is_kept_and_later_events_see_it(
    cli: Cli, train_images: list[Path], tmp_path: Path
) -> None:
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "add", "known", train_images[32]).exit_code == 0
    _apply(cli, tmp_path, WATCH)
    photo = str(train_images[32])
    # two matches of one account in one batch: the account is listed once
    uploads = [{"kind": "upload", "account_id": "w1", "path": photo}] * 2
    assert [v["verdict"] for v in _submit(cli, tmp_path, uploads)] == ["hold", "hold"]
    # a later submission (another process) reads the list from the store
    reports = [
        {"kind": "report", "account_id": account, "reporter": "r", "reason": "spam"}
        for account in ("w1", "w2")
    ]
    watched, other = _submit(cli, tmp_path, reports)
    assert watched["verdict"] == "hold" and watched["rules"] == ["report-on-watched"]
    assert other["verdict"] == "allow" and other["rules"] == []
