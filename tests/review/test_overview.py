"""The dashboard's figures (`safeguard.review.overview`) from a small known set of events,
cases and deliveries, on every backend: verdicts per UTC day, open cases by age band, the
median and 90th percentile of the time to decision (computed by hand below), and what each
role may see of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from safeguard import Safeguard
from safeguard.access.people import Actor
from safeguard.errors import Forbidden, InvalidRequest
from safeguard.review.overview import FAILURES_SHOWN, overview
from safeguard.store.outbox_tables import OutboxJob
from safeguard.store.review_tables import Case, Event

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)

ADMIN = Actor("user:ada", frozenset({"admin"}), user="ada")
SPECIALIST = Actor("user:alice", frozenset({"child_safety"}), user="alice")
MODERATOR = Actor("user:mo", frozenset({"moderator"}), user="mo")
AUDITOR = Actor("user:aud", frozenset({"auditor"}), user="aud")


def _event(n: int, at: datetime, verdict: str) -> Event:
    return Event(
        kind="report",
        account_id=f"e-{n}",
        received_at=at,
        submitted_by="test",
        verdict=verdict,
        rules=[],
        detail={},
    )


def _case(
    account: str,
    opened: datetime,
    *,
    state: str = "open",
    child_safety: bool = False,
    decided: datetime | None = None,
    decision: str | None = None,
) -> Case:
    return Case(
        account_id=account,
        state=state,
        priority=1,
        child_safety=child_safety,
        reason="test",
        opened_at=opened,
        updated_at=decided or opened,
        claimed_by="mo" if state == "in_review" else None,
        claimed_at=opened if state == "in_review" else None,
        decision=decision or ("confirmed" if decided and state != "open" else None),
        decided_by="mo" if decided else None,
        decided_at=decided,
        note="",
        version=1,
    )


@pytest.fixture
def known(sg: Safeguard) -> Safeguard:
    """Events on known days, open and decided cases of known ages, failed deliveries."""
    events = [
        # the window of 7 days runs from 2026-03-09 00:00 UTC to NOW
        _event(1, datetime(2026, 3, 15, 9, 0, tzinfo=UTC), "allow"),
        _event(2, datetime(2026, 3, 15, 9, 0, tzinfo=UTC), "allow"),
        _event(3, datetime(2026, 3, 15, 9, 0, tzinfo=UTC), "hold"),
        _event(4, datetime(2026, 3, 14, 23, 59, tzinfo=UTC), "block"),
        _event(5, datetime(2026, 3, 9, 0, 0, tzinfo=UTC), "allow"),
        _event(6, datetime(2026, 3, 8, 23, 59, 59, tzinfo=UTC), "allow"),  # the day before
        _event(7, NOW + timedelta(seconds=1), "hold"),  # after NOW
    ]
    cases = [
        # open: (account, opened, state, child safety)
        _case("a", NOW - 30 * timedelta(minutes=1)),
        _case("b", NOW - 2 * H, state="in_review", child_safety=True),
        _case("c", NOW - 3 * D),
        _case("d", NOW - 10 * D, child_safety=True),
        _case("e", NOW - 8 * D, state="in_review"),
        # escalated: decided_at is set, but the case is open again (not a decision made)
        _case("j", NOW - 2 * H, child_safety=True, decided=NOW - H, decision="escalate"),
        # decided in the window: 1 d, 4 h (child safety), 10 min (referred), 30 min (closed)
        _case("f", NOW - 3 * D, state="decided", decided=NOW - 2 * D),
        _case("g", NOW - 5 * H, state="decided", child_safety=True, decided=NOW - H),
        _case("h", NOW - D, state="referred", decided=NOW - D + 600 * timedelta(seconds=1)),
        _case("k", NOW - 3 * H - 1800 * timedelta(seconds=1), state="closed", decided=NOW - 3 * H),
        # decided before the window
        _case("i", NOW - 20 * D, state="decided", decided=NOW - 10 * D),
    ]
    jobs = [
        OutboxJob(
            topic="decision",
            endpoint="platform",
            payload={"n": n},
            idempotency_key=f"decision:{n}:platform",
            state="failed" if n < FAILURES_SHOWN + 2 else "delivered",
            attempts=8,
            created_at=NOW - D + n * timedelta(seconds=1),
            next_attempt_at=NOW,
            last_error="connection refused",
        )
        for n in range(FAILURES_SHOWN + 3)
    ]
    with sg.db.write_transaction() as s:
        s.add_all([*events, *cases, *jobs])
    return sg


def test_events_per_utc_day_by_verdict(known: Safeguard) -> None:
    o = overview(known.db, ADMIN, now=NOW, days=7)
    days = {d.day.isoformat(): d.counts for d in o.per_day}
    assert list(days) == [f"2026-03-{n:02d}" for n in range(9, 16)]
    assert days["2026-03-15"] == {"allow": 2, "hold": 1, "block": 0}
    assert days["2026-03-14"] == {"allow": 0, "hold": 0, "block": 1}
    assert days["2026-03-09"] == {"allow": 1, "hold": 0, "block": 0}
    assert sum(sum(c.values()) for c in days.values()) == 5 == o.events
    assert o.verdict_totals == {"allow": 3, "hold": 1, "block": 1}
    assert o.busiest_day == 3
    # the same events, seen by a moderator: event counts are not about cases
    assert overview(known.db, MODERATOR, now=NOW, days=7).per_day == o.per_day


def test_open_cases_by_age_and_what_a_moderator_may_count(known: Safeguard) -> None:
    for who in (ADMIN, SPECIALIST):
        o = overview(known.db, who, now=NOW, days=7)
        assert (o.open_cases, o.in_review) == (6, 2)
        assert o.oldest_open == NOW - 10 * D
        assert [(b.label, b.count) for b in o.age_bands] == [
            ("under 1 h", 1),
            ("1–24 h", 2),
            ("1–7 d", 1),
            ("over 7 d", 2),
        ]
        assert o.child_safety_included
    mo = overview(known.db, MODERATOR, now=NOW, days=7)
    # a, c and e: the child-safety cases b, d and j are not a moderator's to count
    assert (mo.open_cases, mo.in_review) == (3, 1)
    assert mo.oldest_open == NOW - 8 * D
    assert [b.count for b in mo.age_bands] == [1, 0, 1, 1]
    assert not mo.child_safety_included


def test_time_to_decision_median_and_90th_percentile(known: Safeguard) -> None:
    # decided in the window: 600 s, 1,800 s, 4 h = 14,400 s (child safety), 1 d = 86,400 s;
    # interpolated between the closest ranks: rank (n - 1) * p, counted from 0
    o = overview(known.db, ADMIN, now=NOW, days=7)
    assert o.decisions.decided == 4
    assert o.decisions.median_s == pytest.approx(1800 + (14400 - 1800) * 0.5, abs=0.01)  # 8,100
    assert o.decisions.p90_s == pytest.approx(14400 + (86400 - 14400) * 0.7, abs=0.01)  # 64,800
    # a moderator's: 600, 1,800, 86,400
    mo = overview(known.db, MODERATOR, now=NOW, days=7)
    assert mo.decisions.decided == 3
    assert mo.decisions.median_s == pytest.approx(1800, abs=0.01)
    assert mo.decisions.p90_s == pytest.approx(1800 + (86400 - 1800) * 0.8, abs=0.01)  # 69,480
    # a window of 1 day holds g (1 h ago), k (3 h ago) and h (decided 23 h 50 min ago)
    day = overview(known.db, ADMIN, now=NOW, days=1)
    assert day.decisions.decided == 3 and len(day.per_day) == 1
    # no decision in the window: no time to give
    empty = overview(known.db, ADMIN, now=NOW + 60 * D, days=7)
    assert empty.decisions.decided == 0 and empty.decisions.median_s is None
    assert empty.decisions.p90_s is None and empty.events == 0


def test_failed_deliveries_are_for_admins_and_referrals_for_specialists(known: Safeguard) -> None:
    o = overview(known.db, ADMIN, now=NOW, days=7, referrals=known.referrals_for)
    assert o.webhooks_failed_total == FAILURES_SHOWN + 2
    assert o.webhooks_failed is not None and len(o.webhooks_failed) == FAILURES_SHOWN
    assert [j.state for j in o.webhooks_failed] == ["failed"] * FAILURES_SHOWN
    ids = [j.id for j in o.webhooks_failed]
    assert ids == sorted(ids)  # the oldest first
    assert o.referrals_failed == ()
    cs = overview(known.db, SPECIALIST, now=NOW, days=7, referrals=known.referrals_for)
    assert cs.webhooks_failed is None and cs.webhooks_failed_total == 0
    assert cs.referrals_failed == ()
    mo = overview(known.db, MODERATOR, now=NOW, days=7, referrals=known.referrals_for)
    assert mo.webhooks_failed is None and mo.referrals_failed is None
    # without a way to the referrals, none is looked at
    assert overview(known.db, ADMIN, now=NOW, days=7).referrals_failed is None


def test_who_may_ask_and_for_how_long(known: Safeguard) -> None:
    with pytest.raises(Forbidden, match="may not see cases"):
        overview(known.db, AUDITOR, now=NOW)
    for days in (0, 91):
        with pytest.raises(InvalidRequest, match="1 to 90 days"):
            overview(known.db, ADMIN, now=NOW, days=days)
    assert len(overview(known.db, ADMIN, now=NOW, days=90).per_day) == 90
