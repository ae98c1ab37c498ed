"""Transparent rules: reason codes a reviewer can read, and a points score built from them.

Each rule looks at one or two features and, when it fires, says in plain words what the account
did. Every flagged account carries the codes of the rules it fired; the points score (sum of the
weights of fired rules) is a model-free baseline that `evaluate` reports next to the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from safeguard.pathways.features import FEATURE_NAMES, FEATURES

Row = dict[str, float]


@dataclass(frozen=True)
class Rule:
    code: str
    weight: float
    when: Callable[[Row], bool]
    says: Callable[[Row], str]


def _pct(v: float) -> str:
    return f"{round(100 * v)}%"


RULES: tuple[Rule, ...] = (
    Rule(
        "BURST_OF_NEW_MINORS",
        3,
        lambda r: r["max_new_minors_24h"] >= 10,
        lambda r: (
            f"approached {int(r['max_new_minors_24h'])} minors for the first time within 24 hours"
        ),
    ),
    Rule(
        "NO_MUTUAL_CONNECTIONS",
        2,
        lambda r: r["minors_initiated"] >= 3 and r["no_mutual_share"] >= 0.75,
        lambda r: (
            f"{_pct(r['no_mutual_share'])} of the {int(r['minors_initiated'])} minors "
            "they approached share no connection with them"
        ),
    ),
    Rule(
        "UNRELATED_TARGETS",
        2,
        lambda r: r["target_groups"] >= 3 and r["target_group_share"] >= 0.75,
        lambda r: (
            f"the minors they approached come from {int(r['target_groups'])} separate "
            "groups that do not know each other"
        ),
    ),
    Rule(
        "NEW_ACCOUNT",
        2,
        lambda r: r["minors_initiated"] >= 2 and r["account_age_days"] < 7,
        lambda r: (
            f"account was {r['account_age_days']:.1f} days old when it first contacted a minor"
        ),
    ),
    Rule(
        "OFF_PLATFORM_HANDLES",
        3,
        lambda r: (
            r["off_platform_minors"] >= 2
            or (r["off_platform_minors"] >= 1 and r["off_platform_rate"] >= 0.3)
        ),
        lambda r: f"sent a handle for another app to {int(r['off_platform_minors'])} minor(s)",
    ),
    Rule(
        "BLOCKED_OR_REPORTED",
        3,
        lambda r: r["minors_blocking"] + r["minors_reporting"] >= 2 or r["minors_reporting"] >= 1,
        lambda r: (
            f"blocked by {int(r['minors_blocking'])} and reported by "
            f"{int(r['minors_reporting'])} minor(s)"
        ),
    ),
    Rule(
        "LOW_RESPONSE",
        1,
        lambda r: r["minors_initiated"] >= 5 and r["reply_rate"] < 0.35,
        lambda r: f"only {_pct(r['reply_rate'])} of the minors they approached replied",
    ),
    Rule(
        "PERSISTS_WITHOUT_REPLY",
        1,
        lambda r: r["unanswered_persistence"] >= 10,
        lambda r: (
            f"sent {int(r['unanswered_persistence'])} messages to a minor who never wrote back"
        ),
    ),
    Rule(
        "SINGLED_OUT_MINORS",
        2,
        lambda r: (
            r["minors_initiated"] >= 5
            and r["favourite_ratio"] >= 4
            and r["off_platform_minors"] >= 1
            and r["handles_to_favourites"] >= 0.5
        ),
        lambda r: (
            f"wrote to one minor {r['favourite_ratio']:.1f} times as often as to a typical "
            f"one of the {int(r['minors_initiated'])} they approached, and sent handles for "
            "another app to the few they wrote to most"
        ),
    ),
    Rule(
        "CROSS_COUNTRY",
        1,
        lambda r: r["minors_initiated"] >= 3 and r["cross_country_share"] >= 0.75,
        lambda r: (
            f"{_pct(r['cross_country_share'])} of the minors they approached are in another country"
        ),
    ),
    Rule(
        "SHARED_TARGETS_WITH_RISKY_ACCOUNTS",
        2,
        lambda r: r["risky_cocontactors"] >= 2 and r["minors_initiated"] >= 2,
        lambda r: (
            f"approached the same minors as {int(r['risky_cocontactors'])} other "
            "accounts that were blocked, reported or newly created"
        ),
    ),
)

_FEATURE_TEXT = {f.name: f.meaning for f in FEATURES}

#: each reason code in plain words, without the account's figures (for a reviewer's page)
PLAIN_WORDS = {
    "BURST_OF_NEW_MINORS": "approached many minors for the first time within a day",
    "NO_MUTUAL_CONNECTIONS": "the minors they approached share no connection with them",
    "UNRELATED_TARGETS": "the minors they approached come from groups that do not know each other",
    "NEW_ACCOUNT": "a new account that soon contacted minors",
    "OFF_PLATFORM_HANDLES": "sent minors a handle for another app",
    "BLOCKED_OR_REPORTED": "blocked or reported by minors",
    "LOW_RESPONSE": "few of the minors they approached replied",
    "PERSISTS_WITHOUT_REPLY": "kept writing to a minor who never answered",
    "SINGLED_OUT_MINORS": (
        "singled out a few of the minors they reached and moved them to another app"
    ),
    "CROSS_COUNTRY": "most of the minors they approached are in another country",
    "SHARED_TARGETS_WITH_RISKY_ACCOUNTS": (
        "approached the same minors as other blocked, reported or new accounts"
    ),
    "MODEL_COMBINATION": "several weak signals together",
}


def plain_words(code: str) -> str:
    """What a reason code means, in words a reviewer reads (the code itself if unknown)."""
    if code in PLAIN_WORDS:
        return PLAIN_WORDS[code]
    if code.startswith("UNUSUAL_") and code[8:].lower() in _FEATURE_TEXT:
        return f"unusual for a benign account: {_FEATURE_TEXT[code[8:].lower()]}"
    if code.startswith("NEAR_") and code[5:].lower() in _FEATURE_TEXT:
        return f"toward the edge of benign accounts: {_FEATURE_TEXT[code[5:].lower()]}"
    return code


def as_row(values: np.ndarray) -> Row:
    return {n: float(v) for n, v in zip(FEATURE_NAMES, values, strict=True)}


def fired(row: Row) -> list[Rule]:
    return [r for r in RULES if r.when(row)]


def reasons(row: Row, benign_p95: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Reason codes with plain-words explanations, strongest first.

    When no rule fires (the model combined several weaker signals) and `benign_p95` is
    given (for flagged accounts), the features outside the range of 95% of benign accounts
    in training are listed instead as UNUSUAL_<FEATURE>, or, when none is outside it, the
    ones nearest its edge as NEAR_<FEATURE>: a flagged account always names what raised it.
    """
    out = [
        {"code": r.code, "text": r.says(row)} for r in sorted(fired(row), key=lambda r: -r.weight)
    ]
    if out or not benign_p95:
        return out
    if row["minors_initiated"] >= 1:
        out = _beyond_benign(row, benign_p95)
    if not out:
        out.append({"code": "MODEL_COMBINATION", "text": PLAIN_WORDS["MODEL_COMBINATION"]})
    return out


#: how many features a reason list names when no rule fired
NEAREST_LIMIT = 3


def _beyond_benign(row: Row, benign_p95: dict[str, float]) -> list[dict[str, Any]]:
    """The risk-raising features furthest along toward (or past) the edge of 95% of benign
    accounts, each with its value and that edge: UNUSUAL_<FEATURE> when past it, NEAR_<...>
    when not (the model then weighed several such together). The list names at least one
    feature whenever any feature points toward risk."""
    past, near = [], []
    for f in FEATURES:
        edge = benign_p95.get(f.name)
        if edge is None or f.direction == 0:
            continue
        v = row[f.name]
        if f.direction > 0:
            if v <= 0:
                continue
            toward = v / edge if edge > 0 else float("inf")
        else:
            # at a benign edge of 0 a value of 0 is on the edge, not past it
            toward = edge / v if v > 0 else (float("inf") if edge > 0 else 1.0)
        words = (
            f"{_FEATURE_TEXT[f.name]}: {v:.3g} "
            f"(95% of benign accounts: {'<=' if f.direction > 0 else '>='} {edge:.3g})"
        )
        if toward > 1:
            past.append((toward, {"code": f"UNUSUAL_{f.name.upper()}", "text": words}))
        elif toward > 0:
            near.append((toward, {"code": f"NEAR_{f.name.upper()}", "text": words}))
    if past:
        return [r for _, r in sorted(past, key=lambda p: -p[0])]
    return [r for _, r in sorted(near, key=lambda p: -p[0])[:NEAREST_LIMIT]]


def points(x: np.ndarray) -> np.ndarray:
    """The rules-only score of each row: the sum of the weights of the rules it fires."""
    return np.array([sum(r.weight for r in fired(as_row(v))) for v in x], dtype=np.float64)
