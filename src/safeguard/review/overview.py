"""The figures of the web UI's dashboard (/ui/), as one actor may see them: the verdicts
events got day by day, the open cases by how long they have waited, how long decisions
take, and the webhook deliveries and referrals that failed.

Each figure is one aggregate query (GROUP BY, counts, or the two rows around a percentile
read at an offset), never a read of every row: the page stays fast with 10,000 open cases
and 100,000 events (bench/ui_queue.py measures it). Who sees what is decided where the
library already decides it: cases by `Actor.may_see_case` (the rule `CaseService` applies,
so a moderator's counts leave out child-safety cases), failed deliveries by
`WebhookService` (admins), failed referrals by `ReferralService` (child-safety specialists
and admins).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, Float, and_, case, cast, extract, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from safeguard.access.people import Actor
from safeguard.errors import Forbidden, InvalidRequest
from safeguard.outbox import JobInfo, WebhookService
from safeguard.store import Database
from safeguard.store.review_tables import ACTIVE_CASE_STATES, Case, Event, case_is_active

if TYPE_CHECKING:
    from safeguard.refer.service import ReferralInfo, ReferralService

#: the verdicts an event can get (safeguard.act.verdicts), in the order charts stack them
VERDICTS = ("allow", "hold", "block")
#: open cases by how long they have waited: (label, from seconds, below seconds or None)
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("under 1 h", 0, 3600),
    ("1–24 h", 3600, 86400),
    ("1–7 d", 86400, 7 * 86400),
    ("over 7 d", 7 * 86400, None),
)
#: the longest window the dashboard looks back over
MAX_DAYS = 90
#: failed deliveries listed (the oldest first); the count says how many there are in all
FAILURES_SHOWN = 20


@dataclass(frozen=True)
class Day:
    """One day (UTC) of events: how many got each verdict."""

    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class AgeBand:
    label: str
    count: int


@dataclass(frozen=True)
class DecisionTimes:
    """Cases decided in the window and how long each took from opening to decision, in
    seconds (percentiles interpolated between the closest ranks; None with no decision)."""

    decided: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class Overview:
    now: datetime
    days: int
    per_day: tuple[Day, ...]
    open_cases: int
    in_review: int
    oldest_open: datetime | None
    age_bands: tuple[AgeBand, ...]
    decisions: DecisionTimes
    #: whether the case figures include child-safety cases (they do for whoever may see them)
    child_safety_included: bool
    #: failed webhook jobs, oldest first, at most FAILURES_SHOWN (None: not the actor's to see)
    webhooks_failed: tuple[JobInfo, ...] | None
    webhooks_failed_total: int
    #: referrals whose last attempt failed (None: not the actor's to see)
    referrals_failed: tuple[ReferralInfo, ...] | None

    @property
    def verdict_totals(self) -> dict[str, int]:
        return {v: sum(d.counts[v] for d in self.per_day) for v in VERDICTS}

    @property
    def events(self) -> int:
        return sum(d.total for d in self.per_day)

    @property
    def busiest_day(self) -> int:
        """The most events on one day of the window (0 when none): the chart's scale."""
        return max((d.total for d in self.per_day), default=0)


def overview(
    db: Database,
    actor: Actor,
    *,
    now: datetime,
    days: int = 14,
    referrals: Callable[[Actor], ReferralService] | None = None,
) -> Overview:
    """The dashboard's figures for `actor` over the last `days` days (today included) up to
    `now`. Forbidden unless the actor may see cases. `referrals` hands out the actor's
    `ReferralService` (`Safeguard.referrals_for`); without it no referral is looked at."""
    actor.require(actor.may_see_case(False), "see cases or their figures")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidRequest(f"the dashboard looks back 1 to {MAX_DAYS} days, not {days}")
    now = now.astimezone(UTC)
    others_only = not actor.may_see_case(True)
    with db.transaction() as s:
        per_day = _per_day(s, now, days)
        open_cases, in_review, oldest, bands = _open_cases(s, now, others_only)
        decisions = _decision_times(s, now - timedelta(days=days), now, others_only)
    hooks, hooks_total = _failed_webhooks(db, actor)
    return Overview(
        now=now,
        days=days,
        per_day=per_day,
        open_cases=open_cases,
        in_review=in_review,
        oldest_open=oldest,
        age_bands=bands,
        decisions=decisions,
        child_safety_included=not others_only,
        webhooks_failed=hooks,
        webhooks_failed_total=hooks_total,
        referrals_failed=_failed_referrals(actor, referrals),
    )


# -- the queries ---------------------------------------------------------------------------


def _utc_day(s: Session, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, as the database computes it."""
    if s.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)  # SQLite keeps timestamps as UTC text


def _seconds_between(s: Session, first: Any, last: Any) -> ColumnElement[Any]:
    if s.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", last - first), Float)
    return (func.julianday(last) - func.julianday(first)) * 86400.0


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _per_day(s: Session, now: datetime, days: int) -> tuple[Day, ...]:
    first = now.date() - timedelta(days=days - 1)
    start = datetime.combine(first, time(), tzinfo=UTC)
    day = _utc_day(s, Event.received_at)
    q = (
        select(day, Event.verdict, func.count())
        .where(Event.received_at >= start, Event.received_at <= now)
        .group_by(day, Event.verdict)
    )
    counts: dict[date, dict[str, int]] = {
        first + timedelta(days=i): dict.fromkeys(VERDICTS, 0) for i in range(days)
    }
    for d, verdict, n in s.execute(q):
        bucket = counts.get(_as_date(d))
        if bucket is not None and verdict in bucket:
            bucket[verdict] += int(n)
    return tuple(Day(d, c) for d, c in counts.items())


def _visible(q: Any, others_only: bool) -> Any:
    return q.where(Case.child_safety.is_(False)) if others_only else q


def _open_cases(
    s: Session, now: datetime, others_only: bool
) -> tuple[int, int, datetime | None, tuple[AgeBand, ...]]:
    """Open cases (open or in review), those in review, the oldest one's opening, and the
    cases in each age band: one query."""
    bands = []
    for _label, low, high in AGE_BANDS:
        # the youngest band has no lower bound: a case opened since `now` counts in it
        parts = [Case.opened_at <= now - timedelta(seconds=low)] if low else []
        if high is not None:
            parts.append(Case.opened_at > now - timedelta(seconds=high))
        bands.append(func.count(case((and_(*parts), 1))))
    q = select(
        func.count(),
        func.count(case((Case.state == "in_review", 1))),
        func.min(Case.opened_at),
        *bands,
    ).where(case_is_active())
    row = s.execute(_visible(q, others_only)).one()
    total, in_review, oldest, *per_band = row
    if isinstance(oldest, str):  # SQLite hands back min() of a timestamp as its text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    labelled = tuple(
        AgeBand(label, int(n)) for (label, _, _), n in zip(AGE_BANDS, per_band, strict=True)
    )
    return int(total), int(in_review), oldest, labelled


def _decision_times(s: Session, start: datetime, now: datetime, others_only: bool) -> DecisionTimes:
    """Cases decided (no longer active) between `start` and `now`: how many, and the median
    and 90th percentile of the time from opening to decision. A percentile reads the (at
    most) two values around its rank at an offset, in order, so no row is loaded but those."""
    took = _seconds_between(s, Case.opened_at, Case.decided_at)
    decided = _visible(
        select(took).where(
            Case.state.not_in(ACTIVE_CASE_STATES),
            Case.decided_at.is_not(None),
            Case.decided_at >= start,
            Case.decided_at <= now,
        ),
        others_only,
    )
    n = int(s.scalar(select(func.count()).select_from(decided.subquery())) or 0)

    def percentile(p: float) -> float | None:
        if n == 0:
            return None
        rank = (n - 1) * p
        low = math.floor(rank)
        values = [float(v) for v in s.scalars(decided.order_by(took).offset(low).limit(2))]
        if len(values) == 1 or rank == low:
            return values[0]
        return values[0] + (values[1] - values[0]) * (rank - low)

    return DecisionTimes(n, percentile(0.5), percentile(0.9))


def _failed_webhooks(db: Database, actor: Actor) -> tuple[tuple[JobInfo, ...] | None, int]:
    hooks = WebhookService(db, actor)
    try:
        total = int(hooks.stats().get("failed", 0))
        shown = tuple(hooks.failed(limit=FAILURES_SHOWN)) if total else ()
    except Forbidden:  # admins only, as WebhookService decides
        return None, 0
    return shown, total


def _failed_referrals(
    actor: Actor, referrals: Callable[[Actor], ReferralService] | None
) -> tuple[ReferralInfo, ...] | None:
    if referrals is None:
        return None
    try:
        service = referrals(actor)  # child-safety specialists and admins, as it decides
    except Forbidden:
        return None
    return tuple(service.failed())
