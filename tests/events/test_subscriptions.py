"""Subscriptions: named, durable readers of the change feed, each with its own cursor."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from safeguard import Safeguard
from safeguard.errors import InvalidRequest
from safeguard.events import MATCH_RECORDED, MatchRecorder, Subscription
from safeguard.store import Change
from tests.events.helpers import bank_of, drain, lookup, synthetic_hashes


def _record_matches(sg: Safeguard, n: int, actor: str = "key:k") -> None:
    banked = synthetic_hashes(1, seed=5)
    if "known" not in {b.name for b in sg.banks.list()}:
        bank_of(sg, "known", banked)
    hit = lookup(sg, banked[0])
    with MatchRecorder(sg.db) as rec:
        for i in range(n):
            rec.record(hit, actor, request_id=str(i))


def test_two_subscriptions_each_see_every_row_once(sg: Safeguard) -> None:
    everything = Subscription(sg.db, "audit")
    matches = Subscription(sg.db, "rules", actions=[MATCH_RECORDED])
    _record_matches(sg, 30)  # a bank, an import, then 30 match records
    sg.banks.create("later")
    all_rows = drain(everything, limit=7)
    match_only = drain(matches, limit=7)
    ids = [r.id for r in all_rows]
    assert ids == sorted(set(ids)) and len(ids) == 33
    assert [r.action for r in all_rows][:2] == ["bank.create", "content.import"]
    assert all_rows[-1].action == "bank.create"
    assert [r.id for r in match_only] == [r.id for r in all_rows if r.action == MATCH_RECORDED]
    assert [r.detail["request_id"] for r in match_only] == [str(i) for i in range(30)]
    # drained: nothing more for either, and each kept its own cursor
    assert everything.poll().rows == [] and matches.poll().rows == []
    assert everything.cursor == matches.cursor == ids[-1]


def test_a_reopened_subscription_resumes_after_its_last_ack(sg: Safeguard) -> None:
    _record_matches(sg, 10)
    sub = Subscription(sg.db, "cases", actions=[MATCH_RECORDED])
    first = sub.poll(5)
    sub.ack(first)
    unacked = sub.poll(5)  # read, never acknowledged: must come again
    again = Subscription(sg.db, "cases", actions=[MATCH_RECORDED])
    assert again.cursor == first.cursor
    rest = drain(again)
    assert [r.id for r in rest][: len(unacked.rows)] == [r.id for r in unacked.rows]
    seen = [r.detail["request_id"] for r in first.rows + rest]
    assert seen == [str(i) for i in range(10)]


def test_ack_inside_the_consumers_transaction_is_undone_with_it(sg: Safeguard) -> None:
    _record_matches(sg, 3)
    sub = Subscription(sg.db, "reports")
    batch = sub.poll()
    with pytest.raises(RuntimeError), sg.db.transaction() as s:
        sub.ack(batch, session=s)
        raise RuntimeError("the consumer's own write failed")
    assert [r.id for r in sub.poll().rows] == [r.id for r in batch.rows]  # offered again
    assert len(drain(Subscription(sg.db, "reports"))) == len(batch.rows)
    with sg.db.transaction() as s:
        sub.ack(batch, session=s)
    assert sub.poll().rows == []
    assert Subscription(sg.db, "reports").cursor == batch.cursor


def test_a_new_subscription_can_start_at_the_newest_row(sg: Safeguard) -> None:
    _record_matches(sg, 3)
    sub = Subscription(sg.db, "fresh", start="newest")
    assert sub.poll().rows == []
    _record_matches(sg, 2, actor="key:later")
    assert [r.actor for r in drain(Subscription(sg.db, "fresh"))] == ["key:later"] * 2


def test_bad_names_and_limits_are_clear_errors(sg: Safeguard) -> None:
    with pytest.raises(InvalidRequest, match="subscription name"):
        Subscription(sg.db, "")
    with pytest.raises(InvalidRequest, match="subscription name"):
        Subscription(sg.db, "x" * 101)
    with pytest.raises(InvalidRequest, match="start must be"):
        Subscription(sg.db, "ok", start="middle")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="limit"):
        Subscription(sg.db, "ok").poll(0)


# SQLite writers commit one after another, in id order: only PostgreSQL makes gaps
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_transaction_committing_late_is_not_skipped(sg: Safeguard, db_url: str) -> None:
    """On PostgreSQL a transaction can take an id and commit after a later one: the
    subscription must deliver it once it commits, even across a restart in between."""
    _record_matches(sg, 1)
    sub = Subscription(sg.db, "late", actions=[MATCH_RECORDED])
    drain(sub)
    with sg.db.engine.connect() as slow:
        tx = slow.begin()
        slow.execute(  # takes the next id, not yet committed
            insert(Change).values(actor="key:slow", action=MATCH_RECORDED, detail={})
        )
        _record_matches(sg, 2, actor="key:fast")  # later ids, committed first
        fast = drain(sub)
        assert [r.actor for r in fast] == ["key:fast"] * 2
        assert sub.gaps == [fast[0].id - 1]
        tx.commit()
    resumed = Subscription(sg.db, "late", actions=[MATCH_RECORDED])  # the gap was saved
    assert [r.actor for r in drain(resumed)] == ["key:slow"]
    assert resumed.gaps == [] and drain(resumed) == []
