"""The change feed when most rows are match records, and the follower's listeners."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import insert

from safeguard import Safeguard
from safeguard.api.follower import IndexFollower
from safeguard.events import MATCH_RECORDED, MatchRecorder
from safeguard.matching.feed import ChangeFeed, ChangeRow
from safeguard.store import Change
from tests.events.helpers import bank_of, lookup, synthetic_hashes


def test_a_feed_skipping_match_records_still_moves_past_them(sg: Safeguard) -> None:
    banked = synthetic_hashes(2)
    bank_of(sg, "known", banked)
    feed = ChangeFeed(sg.db, skip=("match.",), batch=4)
    full = ChangeFeed(sg.db, batch=4)
    with MatchRecorder(sg.db) as rec:
        for _ in range(5):
            rec.record(lookup(sg, banked[0]), "key:k")
    sg.banks.create("after")
    kept: list[ChangeRow] = []
    scanned = 0
    while True:
        batch = feed.poll()
        kept += batch.rows
        scanned += batch.scanned
        feed.advance(batch)
        if batch.scanned < feed.batch:
            break
    assert [r.action for r in kept] == ["bank.create", "content.import", "bank.create"]
    assert kept[-1].bank_name == "after" and kept[-1].actor == "test"
    assert scanned == 8 and feed.cursor == kept[-1].id
    first = full.poll()
    assert [r.action for r in first.rows][2:] == [MATCH_RECORDED] * 2
    assert first.rows[2].detail["signal_type"] == "pdq"


def test_every_listener_gets_the_rows_and_a_failing_one_harms_no_other(sg: Safeguard) -> None:
    banked = synthetic_hashes(1)
    bank_of(sg, "known", banked)
    sg.matcher.auto_refresh = False
    got: dict[str, list[ChangeRow]] = {"a": [], "b": []}
    done = threading.Event()

    def a(rows: list[ChangeRow]) -> None:
        got["a"].extend(rows)

    def broken(rows: list[ChangeRow]) -> None:
        raise RuntimeError("this listener always fails")

    def b(rows: list[ChangeRow]) -> None:
        got["b"].extend(rows)
        if any(r.action == "bank.create" and r.bank_name == "second" for r in got["b"]):
            done.set()

    follower = IndexFollower(sg.matcher, 0.02, listeners=[a, broken])
    follower.add_listener(b)
    follower.start()
    try:
        with MatchRecorder(sg.db) as rec:
            sg.matcher.refresh()
            rec.record(lookup(sg, banked[0]), "key:k")
        sg.banks.create("second")
        assert done.wait(20)
        time.sleep(0.1)  # a row delivered twice would show up by now
    finally:
        follower.stop()
    actions = [r.action for r in got["a"]]
    assert actions == [MATCH_RECORDED, "bank.create"]  # registered after the import
    assert [r.id for r in got["a"]] == [r.id for r in got["b"]]
    assert follower.matcher.status().ready


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_skipping_feed_waits_for_a_change_committing_late(sg: Safeguard, db_url: str) -> None:
    """Ids above the cursor with a hole (a transaction still in flight) take the row-by-row
    path: the late change arrives once it commits, the match records never do."""
    banked = synthetic_hashes(1)
    bank_of(sg, "known", banked)
    feed = ChangeFeed(sg.db, skip=("match.",))
    feed.reset_to_head()
    with sg.db.engine.connect() as slow:
        tx = slow.begin()
        slow.execute(insert(Change).values(actor="slow", action="bank.update", detail={}))
        with MatchRecorder(sg.db) as rec:
            rec.record(lookup(sg, banked[0]), "key:fast")
        early = feed.poll()
        feed.advance(early)
        assert early.rows == [] and early.scanned >= 1 and len(feed.gaps) == 1
        tx.commit()
    late = feed.poll()
    feed.advance(late)
    assert [(r.action, r.actor) for r in late.rows] == [("bank.update", "slow")]
    assert feed.gaps == [] and feed.poll().scanned == 0
