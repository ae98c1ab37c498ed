"""What rules look at and what they decide: the facts of one event, the parsed rules
(conditions and actions), and the outcome of evaluating a rule set on one event.

Everything here is immutable and free of I/O, so an evaluation can run inline on every
event; the only fact that may reach a database is `EventFacts.reports_within`, which the
caller supplies and which is asked only when a rule's other conditions already hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: event kinds a rule can name
KINDS = ("upload", "report", "pathways_flag")
#: verdicts, least severe first
VERDICTS = ("allow", "hold", "block")
SEVERITY = {v: i for i, v in enumerate(VERDICTS)}
#: account age bands a platform sends (act/inputs.py)
AGE_BANDS = ("under_13", "13_15", "16_17", "adult")
#: case priorities: 0 (low) .. 3 (urgent)
PRIORITIES = range(4)


@dataclass(frozen=True)
class MatchFact:
    """One bank entry (of a non-negative bank) the event's upload matched."""

    bank: str
    content_id: int
    signal_type: str
    distance: int
    quarantined: bool = False  # paused by flood quarantine (the caller handles what that does)
    hold_only: bool = False  # in a bank a peer fills, trusted to hold, not block (exchange)


@dataclass(frozen=True)
class EventFacts:
    """What the rules may look at for one event."""

    kind: str  # "upload" | "report" | "pathways_flag"
    account_id: str
    matches: tuple[MatchFact, ...] = ()
    pathways_score: float | None = None
    pathways_reasons: tuple[str, ...] = ()
    report_reason: str | None = None
    account_age_band: str | None = None  # "under_13", "13_15", "16_17", "adult"
    watchlisted: bool = False
    # reports on this account within the last `seconds` (this event included)
    reports_within: Callable[[float], int] | None = None


@dataclass(frozen=True)
class CaseAction:
    """Open (or join) the account's case with this priority and visibility."""

    priority: int = 1
    child_safety: bool = True


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired on an event."""

    rule: str
    verdict: str | None  # None: the rule only opens a case, asks for review, notifies...
    shadow: bool


@dataclass(frozen=True)
class Evaluation:
    """What a rule set decided for one event (shadow hits change none of it)."""

    verdict: str  # the most severe live verdict; "allow" when no live rule gives one
    live: tuple[RuleHit, ...]  # in rule-file order
    shadow: tuple[RuleHit, ...]
    case: CaseAction | None  # merged from live rules: highest priority, child-safety if any
    review: bool
    webhook: bool
    watchlist: bool


# -- conditions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchCondition:
    """The event matched at least one entry in one of `banks` (None: any), through one of
    `signal_types` (None: any), at most `max_distance` away (None: any distance)."""

    banks: frozenset[str] | None = None
    signal_types: frozenset[str] | None = None
    max_distance: int | None = None

    def holds(self, matches: tuple[MatchFact, ...]) -> bool:
        banks, types, limit = self.banks, self.signal_types, self.max_distance
        for m in matches:
            if (
                (banks is None or m.bank in banks)
                and (types is None or m.signal_type in types)
                and (limit is None or m.distance <= limit)
            ):
                return True
        return False


@dataclass(frozen=True)
class PathwaysCondition:
    """The event carries a pathways score of at least `min_score` (None: any score) and,
    when `reasons_any` is given, one of those reason codes (compared without case)."""

    min_score: float | None = None
    reasons_any: frozenset[str] | None = None

    def holds(self, score: float | None, reasons: tuple[str, ...]) -> bool:
        if score is None or (self.min_score is not None and score < self.min_score):
            return False
        wanted = self.reasons_any
        return wanted is None or any(r.lower() in wanted for r in reasons)


@dataclass(frozen=True)
class ReportsCondition:
    """At least `at_least` reports on the account within the last `within` seconds."""

    at_least: int
    within: float


@dataclass(frozen=True)
class Conditions:
    """Every condition given must hold (None: not asked)."""

    kinds: frozenset[str] | None = None
    match: MatchCondition | None = None
    pathways: PathwaysCondition | None = None
    reports: ReportsCondition | None = None
    account_age: frozenset[str] | None = None
    watchlisted: bool | None = None

    def holds(self, facts: EventFacts, counts: dict[float, int]) -> bool:
        """Cheap checks first; the report count (maybe a query) only when all else holds.
        `counts` memoises report counts by window for one event."""
        if self.kinds is not None and facts.kind not in self.kinds:
            return False
        if self.watchlisted is not None and facts.watchlisted != self.watchlisted:
            return False
        if self.account_age is not None and facts.account_age_band not in self.account_age:
            return False
        if self.pathways is not None and not self.pathways.holds(
            facts.pathways_score, facts.pathways_reasons
        ):
            return False
        if self.match is not None and not self.match.holds(facts.matches):
            return False
        if self.reports is not None:
            if facts.reports_within is None:
                return False
            window = self.reports.within
            n = counts.get(window)
            if n is None:
                n = counts[window] = facts.reports_within(window)
            if n < self.reports.at_least:
                return False
        return True


@dataclass(frozen=True)
class Actions:
    """What a rule does when it fires."""

    verdict: str | None = None
    case: CaseAction | None = None
    review: bool = False
    webhook: bool = False
    watchlist: bool = False


@dataclass(frozen=True)
class Rule:
    """One parsed rule. `line` is where it starts in its file."""

    name: str
    when: Conditions
    then: Actions
    shadow: bool = False
    description: str = ""
    line: int = 0
    hit: RuleHit = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hit", RuleHit(self.name, self.then.verdict, self.shadow))
