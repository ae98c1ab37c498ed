"""How far a threshold's promise carries to a new population.

A model's default threshold is chosen on its calibration populations for a false-positive
budget: at most `PROTECTED_BUDGET` of each benign adult group that works with children
(teachers, coaches, youth workers, parents, relatives) ever flagged (train.py). `measure`
records, at training time, what that budget came to there (each group's share ever flagged,
and the scores benign accounts in touch with minors reached); `Calibration` reads it back from
the model file and `compare` sets a scored population beside it, so the output of
`safeguard pathways score` says what the threshold was chosen for, what it gave, and when
the population looks unlike the one it was chosen on.

A platform's log has no labels, so the comparison uses what needs none: the scores of the
accounts in touch with minors. Offenders are a small share of those; when a tenth of them
score above what 99% of benign accounts reached on the calibration populations, the
population differs from them (staff with other habits, another kind of platform) and the
budget's estimate says little about it: review a sample before acting on every flag, or
flag by reviewer capacity (`--capacity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from safeguard.pathways.features import IN_TOUCH

#: the share of each benign adult group the default threshold may flag on the calibration
#: populations (half issue #18's 1% target, leaving a margin)
PROTECTED_BUDGET = 0.005
#: the score quantiles recorded and reported
QUANTILES = (0.5, 0.9, 0.99)


def quantiles(scores: np.ndarray) -> dict[str, float]:
    """{"p50": ..., "p90": ..., "p99": ...} of `scores` (empty: no accounts)."""
    if scores.size == 0:
        return {}
    return {f"p{round(q * 100)}": float(np.quantile(scores, q)) for q in QUANTILES}


def measure(
    worst: pl.DataFrame, threshold: float, floor: float, protected: tuple[str, ...]
) -> dict[str, object]:
    """What the budget came to on the calibration populations, for the model file's `info`.
    `worst`: one row per account in touch with minors during the replays (id, role,
    offender, p: its highest score); `floor`: the lowest threshold training allows."""
    benign = worst.filter(~pl.col("offender"))
    groups = {}
    for role in protected:
        g = benign.filter(pl.col("role") == role)["p"].to_numpy()
        groups[role] = {"accounts": int(g.size), "ever_flagged": int((g >= threshold).sum())}
    scores = benign["p"].to_numpy()
    return {
        "budget": PROTECTED_BUDGET,
        "threshold": threshold,
        "floor": floor,
        "groups": groups,
        "benign_in_touch": in_touch(scores, int((scores >= threshold).sum())),
    }


def in_touch(highest: np.ndarray, ever_flagged: int) -> dict[str, object]:
    """The record of a population's benign accounts in touch with minors (their highest
    scores, and how many were ever flagged), as the model file and `evaluate` keep it."""
    return {
        "accounts": int(highest.size),
        "ever_flagged": ever_flagged,
        "score_quantiles": {k: round(v, 6) for k, v in quantiles(highest).items()},
    }


@dataclass(frozen=True)
class Calibration:
    """The budget a model's threshold was chosen for and what it came to (`measure`)."""

    budget: float
    threshold: float
    floor: float
    groups: dict[str, dict[str, int]]
    benign_accounts: int
    benign_flagged: int
    benign_quantiles: dict[str, float]

    @classmethod
    def of(cls, d: object) -> Calibration | None:
        """From the record `measure` made (a model's `info["false_positive_budget"]`); None
        for a model trained before it was recorded."""
        if not isinstance(d, dict):
            return None  # a model trained before it was recorded
        try:
            touch = d["benign_in_touch"]
            return cls(
                budget=float(d["budget"]),
                threshold=float(d["threshold"]),
                floor=float(d["floor"]),
                groups={
                    role: {"accounts": int(g["accounts"]), "ever_flagged": int(g["ever_flagged"])}
                    for role, g in d["groups"].items()
                },
                benign_accounts=int(touch["accounts"]),
                benign_flagged=int(touch["ever_flagged"]),
                benign_quantiles={k: float(v) for k, v in touch["score_quantiles"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # not in this form (an edited file): the output leaves it out

    def describe(self) -> str:
        groups = ", ".join(_plural(r) for r in self.groups)
        said = (
            f"the model's threshold {self.threshold:.4g} was chosen so that at most "
            f"{self.budget:.1%} of each benign adult group ({groups}) would ever be flagged on "
            f"its calibration populations, and no lower than {self.floor:.4g}; there it flagged "
        )
        rates = {
            r: g["ever_flagged"] / g["accounts"] for r, g in self.groups.items() if g["accounts"]
        }
        if rates:
            worst = max(sorted(rates), key=lambda r: rates[r])
            said += f"at most {rates[worst]:.2%} ({_plural(worst)}), and "
        return (
            said + f"{self.benign_flagged:,} of the {self.benign_accounts:,} benign accounts "
            "in touch with minors"
        )


def _plural(role: str) -> str:
    name = role.replace("_", " ")
    return name + ("es" if name.endswith("ch") else "s")


@dataclass(frozen=True)
class Comparison:
    """A scored population beside its model's calibration populations."""

    in_touch: int
    quantiles: dict[str, float]
    shifted: bool


def compare(scored: pl.DataFrame, calibration: Calibration | None) -> Comparison:
    """The scores of the accounts in touch with minors (`minors_contacted` > 0) in `scored`,
    and whether a tenth of them score above the calibration's benign 99th percentile."""
    touch = scored.filter(IN_TOUCH)
    scores = touch["score"].to_numpy()
    q = quantiles(scores)
    edge = calibration.benign_quantiles.get("p99") if calibration else None
    shifted = bool(edge is not None and q and q["p90"] > edge)
    return Comparison(touch.height, q, shifted)
