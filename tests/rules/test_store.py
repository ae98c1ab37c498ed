"""Rule sets in the store: versions applied atomically and audited, the active set cached,
hits recorded in the caller's transaction, and the report over them (real databases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from safeguard.access.people import Actor
from safeguard.banks import BankService
from safeguard.errors import Forbidden, InvalidRequest, NotFound, RulesInvalid
from safeguard.rules import EventFacts, MatchFact, RuleStore, default_rules, hit_rows, insert_hits
from safeguard.store import Database
from safeguard.store.audit_tables import AuditEntry
from safeguard.store.review_tables import Case, Event
from safeguard.store.rules_tables import RuleHit as RuleHitRow
from safeguard.store.rules_tables import RuleSetVersion

ADMIN = Actor.operator("cli:test")
MODERATOR = Actor("user:mod", frozenset({"moderator"}), user="mod")

HOLD = (
    "rules:\n  - name: hold-known\n    when: {match: {banks: [known]}}\n    then: {verdict: hold}\n"
)
BLOCK = (
    "rules:\n  - name: block-known\n    when: {match: {banks: [known]}}\n"
    "    then: {verdict: block}\n  - name: try\n    shadow: true\n"
    "    when: {kind: report}\n    then: {review: true}\n"
)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.open(db_url)
    BankService(database, "test").create("known")
    BankService(database, "test").create("not-abuse", negative=True)
    yield database
    database.close()


def test_applying_makes_new_versions_and_a_rejected_one_changes_nothing(db: Database) -> None:
    store = RuleStore(db, ADMIN)
    assert store.active() is default_rules()
    first = store.apply(HOLD, "hold.yaml")
    assert first.version == 1 and store.active().names == ("hold-known",)
    second = store.apply(BLOCK, "block.yaml")
    assert second.version == 2
    active = store.active()
    assert active.version == 2 and active.names == ("block-known", "try")
    assert store.active() is active  # cached until another version becomes active
    upload = EventFacts("upload", "a", (MatchFact("known", 1, "pdq", 3),))
    assert active.evaluate(upload).verdict == "block"

    bad = HOLD.replace("[known]", "[not-abuse]")
    with pytest.raises(RulesInvalid, match="negative bank"):
        store.apply(bad, "bad.yaml")
    with pytest.raises(RulesInvalid, match="not valid YAML"):
        store.apply("rules: [", "broken.yaml")
    with pytest.raises(Forbidden, match="may not apply rule sets"):
        RuleStore(db, MODERATOR).apply(HOLD, "hold.yaml")
    assert store.active().version == 2

    history = store.history()
    assert [(i.version, i.active) for i in history] == [(2, True), (1, False), (0, False)]
    assert history[0].rules == ("block-known", "try") and history[0].shadow == ("try",)
    assert history[0].applied_by == "cli:test" and history[-1].built_in
    info, text = store.get(1)
    assert text == HOLD and not info.active and info.sha256 == history[1].sha256
    assert store.get()[0].version == 2
    assert store.get(0)[0].built_in and not store.get(0)[0].active
    with pytest.raises(NotFound, match="no rule set version 7"):
        store.get(7)

    with db.transaction() as s:
        rows = s.scalars(select(RuleSetVersion).order_by(RuleSetVersion.version)).all()
        assert [(r.version, r.active) for r in rows] == [(1, False), (2, True)]
        applied = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "rules.apply").order_by(AuditEntry.seq)
        ).all()
        assert [a.detail["version"] for a in applied] == [1, 2]
        assert applied[1].detail["rules"] == ["block-known", "try"]
        assert applied[1].detail["shadow"] == ["try"] and applied[1].actor == "cli:test"
        assert applied[1].detail["sha256"] == rows[1].sha256


def test_reading_needs_a_role_but_evaluating_does_not(db: Database) -> None:
    service = RuleStore(db, Actor.service("key:ingest"))
    assert service.active() is default_rules()
    with pytest.raises(Forbidden):
        service.history()
    assert RuleStore(db, MODERATOR).history()[0].active  # the default, active
    assert RuleStore(db, MODERATOR).validate(HOLD, "x").names == ("hold-known",)


def test_hits_are_recorded_in_the_callers_transaction(db: Database) -> None:
    store = RuleStore(db, ADMIN)
    ruleset = store.apply(BLOCK, "block.yaml")
    evaluation = ruleset.evaluate(EventFacts("report", "acct"))
    assert evaluation.shadow and not evaluation.live
    with pytest.raises(RuntimeError), db.write_transaction() as s:
        insert_hits(s, hit_rows(41, "acct", ruleset, evaluation, T0))
        raise RuntimeError("the caller failed")
    with db.write_transaction() as s:
        insert_hits(s, hit_rows(42, "acct", ruleset, evaluation, T0))
    with db.transaction() as s:
        rows = s.scalars(select(RuleHitRow)).all()
        assert [(r.event_id, r.rule, r.shadow, r.verdict, r.rule_set) for r in rows] == [
            (42, "try", True, "", 1)
        ]
        assert rows[0].at == T0


def _event(s, account: str, verdict: str, at: datetime) -> int:  # type: ignore[no-untyped-def]
    row = Event(kind="upload", account_id=account, verdict=verdict, received_at=at, detail={})
    s.add(row)
    s.flush()
    return int(row.id)


def test_the_report_counts_hits_changes_and_confirmed_accounts(db: Database) -> None:
    hour = timedelta(hours=1)
    with db.write_transaction() as s:
        e1 = _event(s, "acct-a", "hold", T0)
        e2 = _event(s, "acct-b", "allow", T0 + hour)
        e3 = _event(s, "acct-a", "block", T0 + 2 * hour)
        old = _event(s, "acct-c", "hold", T0 - 30 * hour)
        hits = [
            (e1, "acct-a", "known", False, "hold", T0),
            (e3, "acct-a", "known", False, "block", T0 + 2 * hour),
            (e1, "acct-a", "try", True, "block", T0),  # stricter than hold
            (e2, "acct-b", "try", True, "block", T0 + hour),  # stricter than allow
            (e3, "acct-a", "try", True, "block", T0 + 2 * hour),  # the same
            (e3, "acct-a", "soft", True, "allow", T0 + 2 * hour),  # looser than block
            (e2, "acct-b", "notify", True, "", T0 + hour),  # no verdict: no change
            (old, "acct-c", "known", False, "hold", T0 - 30 * hour),  # before the window
        ]
        for event_id, account, rule, shadow, verdict, at in hits:
            s.add(
                RuleHitRow(
                    event_id=event_id,
                    account_id=account,
                    rule_set=1,
                    rule=rule,
                    shadow=shadow,
                    verdict=verdict,
                    at=at,
                )
            )
        for account, decision, decided in [
            ("acct-a", "confirmed", T0 + 5 * hour),  # after every hit on acct-a
            ("acct-b", "confirmed", T0 - hour),  # before its hits: not a later confirmation
            ("acct-c", "not_abuse", T0 + 5 * hour),
        ]:
            s.add(
                Case(
                    account_id=account,
                    state="decided",
                    decision=decision,
                    decided_at=decided,
                    opened_at=T0 - 40 * hour,
                    updated_at=decided,
                )
            )
    store = RuleStore(db, MODERATOR)
    report = {(r.rule, r.shadow): r for r in store.report(T0 - hour)}
    assert list(report) == [
        ("known", False),
        ("notify", True),
        ("soft", True),
        ("try", True),
    ]
    known = report["known", False]
    assert (known.hits, known.events, known.accounts, known.confirmed) == (2, 2, 1, 1)
    assert known.verdicts == {"block": 1, "hold": 1} and known.changed_verdict is None
    tried = report["try", True]
    assert (tried.hits, tried.events, tried.accounts, tried.confirmed) == (3, 3, 2, 1)
    assert (tried.changed_verdict, tried.stricter, tried.looser) == (2, 2, 0)
    soft = report["soft", True]
    assert (soft.changed_verdict, soft.stricter, soft.looser, soft.confirmed) == (1, 0, 1, 1)
    notify = report["notify", True]
    assert notify.verdicts == {"none": 1} and notify.changed_verdict == 0
    assert notify.confirmed == 0
    # the window's end is exclusive; the older hit counts once the window reaches it
    early = {r.rule: r for r in store.report(T0 - hour, T0 + hour)}
    assert set(early) == {"known", "try"} and early["try"].hits == 1
    wide = {r.rule: r for r in store.report(T0 - 40 * hour)}
    assert wide["known"].hits == 3 and wide["known"].accounts == 2
    with pytest.raises(InvalidRequest, match="end must come after"):
        store.report(T0, T0)
