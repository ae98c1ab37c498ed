"""MatchRecorder: every match of a lookup becomes a `match.recorded` row, on both databases."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from safeguard import Safeguard
from safeguard.events import MATCH_RECORDED, MatchRecorder
from tests.events.helpers import bank_of, lookup, match_rows, synthetic_hashes


def _wait(cond, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_a_matching_lookup_is_recorded_with_its_fields(sg: Safeguard) -> None:
    banked = synthetic_hashes(3)
    bank_of(sg, "known", banked)
    bank_id = sg.banks.get("known").id
    hit, miss = lookup(sg, banked[1]), lookup(sg, synthetic_hashes(1, seed=99)[0])
    assert hit.matched and not miss.matched
    before = datetime.now(UTC) - timedelta(seconds=1)
    with MatchRecorder(sg.db) as rec:
        rec.record([hit, miss], "key:alice", source="http", request_id="req-1", subjects=["a", "b"])
    rows = match_rows(sg.db)
    assert len(rows) == 1  # the lookup that did not match records nothing
    r = rows[0]
    m = hit.matches[0]
    assert r.action == MATCH_RECORDED
    assert r.actor == "key:alice"
    assert (r.bank_id, r.bank_name, r.content_id) == (bank_id, "known", m.content_id)
    assert r.at is not None and before <= r.at <= datetime.now(UTC)
    assert r.detail == {
        "signal_type": "pdq",
        "distance": 0,
        "variant": None,
        "external_id": "known-1",
        "source": "http",
        "request_id": "req-1",
        "subject": "a",
    }
    assert rec.written == 1 and rec.dropped == 0 and rec.failed == 0


def test_the_background_thread_writes_without_a_flush(sg: Safeguard) -> None:
    banked = synthetic_hashes(2)
    bank_of(sg, "known", banked)
    rec = MatchRecorder(sg.db, interval=0.05)
    try:
        rec.record(lookup(sg, banked[0]), "cli:bob")
        assert _wait(lambda: rec.written == 1)
        assert [r.actor for r in match_rows(sg.db)] == ["cli:bob"]
    finally:
        rec.close()


def test_nothing_is_lost_under_twenty_recording_threads(sg: Safeguard) -> None:
    banked = synthetic_hashes(20)
    bank_of(sg, "known", banked)
    results = [lookup(sg, h) for h in banked]
    per_thread = 100
    rec = MatchRecorder(sg.db, interval=0.01, batch_size=64)
    start = threading.Barrier(20)

    def work(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            rec.record(results[(t + i) % 20], f"key:t{t}", request_id=f"{t}-{i}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    rec.close()
    rows = match_rows(sg.db)
    assert rec.dropped == 0 and rec.failed == 0
    assert len(rows) == 20 * per_thread == rec.written
    assert {r.detail["request_id"] for r in rows} == {
        f"{t}-{i}" for t in range(20) for i in range(per_thread)
    }


def test_a_full_queue_drops_and_counts(sg: Safeguard, caplog) -> None:  # type: ignore[no-untyped-def]
    banked = synthetic_hashes(1)
    bank_of(sg, "known", banked)
    hit = lookup(sg, banked[0])
    rec = MatchRecorder(sg.db, interval=3600, max_pending=5, log_every=0)
    for i in range(8):
        rec.record(hit, "key:k", request_id=str(i))  # never raises, never blocks
    assert (rec.pending, rec.dropped) == (5, 3)
    with caplog.at_level(logging.WARNING, logger="safeguard.events.recorder"):
        rec.close()
        rec._log_drops()
    assert [r.detail["request_id"] for r in match_rows(sg.db)] == ["0", "1", "2", "3", "4"]
    assert "3 records dropped" in caplog.text


def test_close_flushes_is_idempotent_and_later_records_are_dropped(sg: Safeguard) -> None:
    banked = synthetic_hashes(1)
    bank_of(sg, "known", banked)
    hit = lookup(sg, banked[0])
    rec = MatchRecorder(sg.db, interval=3600)
    rec.record(hit, "key:k")
    rec.record(hit, "key:k")
    rec.close()
    assert len(match_rows(sg.db)) == 2
    rec.close()
    rec.record(hit, "key:k")
    assert rec.dropped == 1
    assert len(match_rows(sg.db)) == 2


def test_switched_off_records_nothing(sg: Safeguard) -> None:
    banked = synthetic_hashes(1)
    bank_of(sg, "known", banked)
    rec = MatchRecorder(sg.db, enabled=False)
    rec.record(lookup(sg, banked[0]), "key:k")
    rec.close()
    assert match_rows(sg.db) == [] and rec.pending == 0 and rec._thread is None


def test_a_bank_deleted_before_the_flush_does_not_fail_the_batch(sg: Safeguard) -> None:
    bank_of(sg, "gone", synthetic_hashes(1, seed=1))
    bank_of(sg, "kept", synthetic_hashes(1, seed=2))
    r_gone = lookup(sg, synthetic_hashes(1, seed=1)[0])
    r_kept = lookup(sg, synthetic_hashes(1, seed=2)[0])
    kept_id = sg.banks.get("kept").id
    rec = MatchRecorder(sg.db, interval=3600)
    rec.record([r_gone, r_kept], "key:k")
    sg.banks.delete("gone")
    rec.close()
    rows = {r.bank_name: r for r in match_rows(sg.db)}
    assert rec.failed == 0
    assert rows["gone"].bank_id is None  # the bank and its content are gone
    assert rows["gone"].content_id == r_gone.matches[0].content_id
    assert rows["kept"].bank_id == kept_id


def test_a_failed_write_is_retried_once_then_dropped_and_the_thread_goes_on(
    sg: Safeguard,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    banked = synthetic_hashes(1)
    bank_of(sg, "known", banked)
    hit = lookup(sg, banked[0])
    rec = MatchRecorder(sg.db, interval=0.05)
    try:
        with caplog.at_level(logging.WARNING, logger="safeguard.events.recorder"):
            with sg.db.engine.begin() as conn:  # the change log becomes unwritable
                conn.execute(text("ALTER TABLE change_log RENAME TO change_log_away"))
            try:
                rec.record(hit, "key:k", request_id="lost")
                assert _wait(lambda: rec.failed == 1)
            finally:
                with sg.db.engine.begin() as conn:
                    conn.execute(text("ALTER TABLE change_log_away RENAME TO change_log"))
        assert "retrying" in caplog.text and "dropped" in caplog.text
        rec.record(hit, "key:k", request_id="kept")
        assert _wait(lambda: rec.written == 1)  # the same thread, still writing
        assert [r.detail["request_id"] for r in match_rows(sg.db)] == ["kept"]
    finally:
        rec.close()
