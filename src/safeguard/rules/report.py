"""How each rule did over a window: events and accounts it hit, the verdicts it gave, how
often a shadow rule disagreed with the verdict the event actually got, and how many of the
accounts it hit later had a case decided `confirmed` (`safeguard rules report`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from safeguard.errors import InvalidRequest
from safeguard.rules.model import SEVERITY
from safeguard.rules.parse import parse_duration
from safeguard.store.models import utcnow
from safeguard.store.review_tables import Case, Event
from safeguard.store.rules_tables import RuleHit as RuleHitRow

#: how a hit with no verdict (a rule that only opens a case or notifies) is counted
NO_VERDICT = "none"


@dataclass(frozen=True)
class RuleReport:
    """One rule (live or shadow) over the window."""

    rule: str
    shadow: bool
    hits: int
    events: int
    accounts: int
    verdicts: dict[str, int] = field(default_factory=dict)
    # shadow rules: hits whose verdict differs from the event's actual one (None for live)
    changed_verdict: int | None = None
    stricter: int | None = None  # ... of which more severe
    looser: int | None = None  # ... of which less severe
    # accounts it hit that later had a case decided `confirmed`
    confirmed: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "shadow": self.shadow,
            "hits": self.hits,
            "events": self.events,
            "accounts": self.accounts,
            "verdicts": dict(self.verdicts),
            "changed_verdict": self.changed_verdict,
            "stricter": self.stricter,
            "looser": self.looser,
            "confirmed": self.confirmed,
        }


def rule_report(s: Session, since: datetime, until: datetime | None = None) -> list[RuleReport]:
    """Every rule with hits at `since` <= time < `until` (None: now and later), by name,
    live before shadow."""
    h = RuleHitRow
    window = [h.at >= since] + ([h.at < until] if until is not None else [])
    totals = s.execute(
        select(
            h.rule,
            h.shadow,
            func.count(),
            func.count(h.event_id.distinct()),
            func.count(h.account_id.distinct()),
        )
        .where(*window)
        .group_by(h.rule, h.shadow)
    ).all()
    by_outcome = s.execute(
        select(h.rule, h.shadow, h.verdict, Event.verdict, func.count())
        .select_from(h)
        .outerjoin(Event, Event.id == h.event_id)
        .where(*window)
        .group_by(h.rule, h.shadow, h.verdict, Event.verdict)
    ).all()
    confirmed = s.execute(
        select(h.rule, h.shadow, func.count(h.account_id.distinct()))
        .select_from(h)
        .join(
            Case,
            and_(
                Case.account_id == h.account_id,
                Case.decision == "confirmed",
                Case.decided_at >= h.at,
            ),
        )
        .where(*window)
        .group_by(h.rule, h.shadow)
    ).all()
    verdicts: dict[tuple[str, bool], dict[str, int]] = defaultdict(dict)
    changes: dict[tuple[str, bool], list[int]] = defaultdict(lambda: [0, 0])
    for rule, shadow, given, actual, n in by_outcome:
        key = (rule, bool(shadow))
        name = given or NO_VERDICT
        verdicts[key][name] = verdicts[key].get(name, 0) + n
        if given in SEVERITY and actual in SEVERITY and given != actual:
            changes[key][0 if SEVERITY[given] > SEVERITY[actual] else 1] += n
    confirmed_by = {(rule, bool(shadow)): n for rule, shadow, n in confirmed}
    out = []
    for rule, shadow, hits, events, accounts in totals:
        key = (rule, bool(shadow))
        stricter: int | None = None
        looser: int | None = None
        changed: int | None = None
        if shadow:
            stricter, looser = changes[key]
            changed = stricter + looser
        out.append(
            RuleReport(
                rule=rule,
                shadow=bool(shadow),
                hits=hits,
                events=events,
                accounts=accounts,
                verdicts=dict(sorted(verdicts[key].items())),
                changed_verdict=changed,
                stricter=stricter,
                looser=looser,
                confirmed=confirmed_by.get(key, 0),
            )
        )
    return sorted(out, key=lambda r: (r.shadow, r.rule))


def parse_moment(text: str, what: str = "--since", now: datetime | None = None) -> datetime:
    """A point in time from a duration ago (`7d`, `24h`) or an ISO date or date and time
    (UTC unless it says otherwise); InvalidRequest naming `what` otherwise."""
    now = now or utcnow()
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest(
            f"{what} {text!r}: give a duration ago (7d, 24h, 30m) or a date or date and time "
            "(2026-12-01, 2026-12-01T08:00:00Z)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
