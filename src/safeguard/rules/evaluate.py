"""A validated rule set and its evaluation on one event: inline on every event, so no I/O
beyond the caller's own `reports_within`, and only the rules for the event's kind are tried.

Live rules decide: the most severe verdict wins (block > hold > allow), a case is opened
with the highest priority any asks for (a child-safety case if any says so), and review,
webhook and watch list are asked if any live rule asks. Shadow rules are evaluated the same
way but only reported: they never change the verdict, the case or the actions.
"""

from __future__ import annotations

from collections.abc import Iterable

from safeguard.rules.model import (
    KINDS,
    SEVERITY,
    VERDICTS,
    CaseAction,
    Evaluation,
    EventFacts,
    Rule,
    RuleHit,
)

_NOTHING = Evaluation("allow", (), (), None, False, False, False)


class RuleSet:
    """Parsed, validated rules in file order; immutable. `version` 0 is the built-in
    default set."""

    __slots__ = ("_by_kind", "rules", "version")

    rules: tuple[Rule, ...]
    version: int
    _by_kind: dict[str, tuple[Rule, ...]]

    def __init__(self, rules: Iterable[Rule], version: int = 0) -> None:
        object.__setattr__(self, "rules", tuple(rules))
        object.__setattr__(self, "version", version)
        by_kind = {
            kind: tuple(r for r in self.rules if r.when.kinds is None or kind in r.when.kinds)
            for kind in KINDS
        }
        object.__setattr__(self, "_by_kind", by_kind)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a RuleSet cannot be changed")

    def __repr__(self) -> str:
        return f"RuleSet(version={self.version}, rules={[r.name for r in self.rules]})"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rules)

    @property
    def uses_watchlist(self) -> bool:
        """Whether any rule looks at the watch list (else the caller need not read it)."""
        return any(r.when.watchlisted is not None for r in self.rules)

    @property
    def shadow_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rules if r.shadow)

    def evaluate(self, facts: EventFacts) -> Evaluation:
        """What the rules decide for `facts`."""
        candidates: tuple[Rule, ...] = self._by_kind.get(facts.kind, ())
        live: list[Rule] = []
        shadow: list[RuleHit] = []
        counts: dict[float, int] = {}
        for rule in candidates:
            if rule.when.holds(facts, counts):
                if rule.shadow:
                    shadow.append(rule.hit)
                else:
                    live.append(rule)
        if not live and not shadow:
            return _NOTHING
        return _merge(live, tuple(shadow))


def _merge(live: list[Rule], shadow: tuple[RuleHit, ...]) -> Evaluation:
    severity = 0
    priority = -1  # no case asked
    child_safety = review = webhook = watchlist = False
    for rule in live:
        then = rule.then
        if then.verdict is not None and SEVERITY[then.verdict] > severity:
            severity = SEVERITY[then.verdict]
        if then.case is not None:
            if then.case.priority > priority:
                priority = then.case.priority
            child_safety = child_safety or then.case.child_safety
        review = review or then.review
        webhook = webhook or then.webhook
        watchlist = watchlist or then.watchlist
    return Evaluation(
        VERDICTS[severity],
        tuple(r.hit for r in live),
        shadow,
        CaseAction(priority, child_safety) if priority >= 0 else None,
        review,
        webhook,
        watchlist,
    )
