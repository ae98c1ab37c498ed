"""Rules: what happens to an event (issue #15). A rule set is YAML an admin applies
(`safeguard rules apply`); each rule says when it fires (the event's kind, its matches, its
pathways score, recent reports on the account, the account's age band, the watch list) and
what it does (a verdict, a case, review, a webhook, the watch list). Shadow rules are
evaluated and recorded but change nothing, so a new rule can be tried on live traffic
before it decides (`safeguard rules report`). See docs/moderation.md.
"""

from safeguard.rules.default import DEFAULT_TEXT, default_rules
from safeguard.rules.evaluate import RuleSet
from safeguard.rules.model import (
    AGE_BANDS,
    KINDS,
    VERDICTS,
    Actions,
    CaseAction,
    Conditions,
    Evaluation,
    EventFacts,
    MatchFact,
    Rule,
    RuleHit,
)
from safeguard.rules.parse import parse_duration, parse_rules
from safeguard.rules.report import RuleReport, parse_moment
from safeguard.rules.store import RuleSetInfo, RuleStore, hit_rows, insert_hits

__all__ = [
    "AGE_BANDS",
    "DEFAULT_TEXT",
    "KINDS",
    "VERDICTS",
    "Actions",
    "CaseAction",
    "Conditions",
    "Evaluation",
    "EventFacts",
    "MatchFact",
    "Rule",
    "RuleHit",
    "RuleReport",
    "RuleSet",
    "RuleSetInfo",
    "RuleStore",
    "default_rules",
    "hit_rows",
    "insert_hits",
    "parse_duration",
    "parse_moment",
    "parse_rules",
]
