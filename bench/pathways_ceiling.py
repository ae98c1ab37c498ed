"""How far the pathways features can separate offenders from benign accounts in one world, at
best: a ceiling for issue #18's goals, not a figure for the shipped model.

The populations given (simulator seeds, randomised, or directories of accounts, events and
truth) are one world. The same trees as the shipped model (`model.make_classifier`, offenders
weighted up as `fit` does, daily snapshots as `train` takes them) are fitted on all but two of
the populations and score those two, five times over, so every population is scored by trees
that know its world's generator as well as they can. Each population is replayed every 6 hours;
an account is flagged from the first replay at which its score reaches the threshold. The
threshold is chosen on those same scores: the lowest at which every limited group (teachers,
coaches, youth workers, parents, relatives, gamers, creators) has at most 1% ever flagged and
children at most 0.1%, of those of the group ever in touch with minors (stricter than `pathways
evaluate`'s rates, which count every account of the group). So this is the most these features
allow at the issue's budget, with every advantage given (in-world fitting, a threshold chosen
on the answers). Offenders never scored count as missed. The shipped model is measured the same
way beside it, at its own threshold and at one chosen as above on its scores (which parts
ranking from threshold).

    python bench/pathways_ceiling.py --seeds 301-310 --randomise
    python bench/pathways_ceiling.py --data dev41 --data dev42 ...

Prints JSON: recall, precision at k per population (at the log's end, among the accounts scored
then), recall per offender pattern, and the median hours from first contact with a minor to
flag (offenders never flagged count as never), for each.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from safeguard.pathways.evaluate import (
    LIMITED_GROUPS,
    checkpoints,
    first_contacts,
    load_population,
)
from safeguard.pathways.features import IN_TOUCH, feature_matrix
from safeguard.pathways.model import Model, make_classifier
from safeguard.pathways.simulate import Population, SimParams, randomised, simulate
from safeguard.pathways.train import population_snapshots

#: the issue's budgets: adults' groups 1%, children held to a tenth of that (our rules)
GROUP_LIMIT = 0.01
CHILD_LIMIT = 0.001
STEP_HOURS = 6.0
FOLDS = 5


class Replay:
    """One population's features at every replay, with each account's role and label."""

    def __init__(self, pop: Population) -> None:
        truth = pop.truth.select("account_id", "role", "offender")
        self.times: list[datetime] = []
        self.ids: list[pl.Series] = []
        self.x: list[np.ndarray] = []
        feats = pl.DataFrame()
        for t, feats in checkpoints(pop, STEP_HOURS):
            rows = feats.filter(IN_TOUCH)
            self.times.append(t)
            self.ids.append(rows["account_id"])
            self.x.append(feature_matrix(rows))
        self.accounts = truth.join(
            pl.DataFrame({"account_id": pl.concat(self.ids).unique()}), on="account_id"
        )
        self.unscored = truth.filter(pl.col("offender")).join(
            self.accounts, on="account_id", how="anti"
        )
        last = feats.filter(IN_TOUCH).join(truth, on="account_id")
        self.last_x, self.last_y = feature_matrix(last), last["offender"].to_numpy()
        self.first_contact = dict(first_contacts(pop).iter_rows())

    def scored(self, predict) -> pl.DataFrame:  # type: ignore[no-untyped-def]
        """account_id, t, score at every replay."""
        return pl.concat(
            pl.DataFrame(
                {"account_id": ids, "t": [t] * len(ids), "score": predict(x)},
                schema={"account_id": pl.Utf8, "t": pl.Datetime("us"), "score": pl.Float64},
            )
            for t, ids, x in zip(self.times, self.ids, self.x, strict=True)
            if len(ids)
        )


def _threshold(highest: pl.DataFrame) -> float:
    """The lowest threshold at which every limited group keeps within its budget."""
    limit = 0.0
    for group in LIMITED_GROUPS:
        mine = np.sort(
            highest.filter((pl.col("role") == group) & ~pl.col("offender"))["highest"].to_numpy()
        )[::-1]
        if mine.size:
            allowed = int((CHILD_LIMIT if group == "minor" else GROUP_LIMIT) * mine.size)
            limit = max(limit, float(mine[allowed]) if allowed < mine.size else 0.0)
    return float(np.nextafter(limit, np.inf))


def _report(
    replays: list[Replay], scores: list[pl.DataFrame], threshold: float, predict_last
) -> dict[str, object]:  # type: ignore[no-untyped-def]
    by_pattern: dict[str, list[int]] = {}
    hours: list[float] = []
    pks = []
    for r, s in zip(replays, scores, strict=True):
        first = dict(
            s.filter(pl.col("score") >= threshold)
            .group_by("account_id")
            .agg(pl.col("t").min())
            .iter_rows()
        )
        offenders = r.accounts.filter(pl.col("offender"))
        for aid, role in zip(
            [*offenders["account_id"], *r.unscored["account_id"]],
            [*offenders["role"], *r.unscored["role"]],
            strict=True,
        ):
            hit = aid in first
            by_pattern.setdefault(role, [0, 0])
            by_pattern[role][0] += hit
            by_pattern[role][1] += 1
            start = r.first_contact.get(aid)
            hours.append(
                max(0.0, (first[aid] - start).total_seconds() / 3600)
                if hit and start is not None
                else float("inf")
            )
        k = int(r.last_y.sum())
        order = np.argsort(-predict_last(r), kind="stable")[:k]
        pks.append(round(float(r.last_y[order].mean()), 3) if k else None)
    hits = sum(v[0] for v in by_pattern.values())
    total = sum(v[1] for v in by_pattern.values())
    median = float(np.median(hours))
    return {
        "threshold": round(threshold, 6),
        "recall_ever_flagged": round(hits / total, 3),
        "median_hours_to_flag": None if median == float("inf") else round(median, 1),
        "precision_at_k_per_population": pks,
        "ever_flagged_by_pattern": {
            role: f"{a} of {n}" for role, (a, n) in sorted(by_pattern.items())
        },
    }


def _highest(replays: list[Replay], scores: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(
        s.group_by("account_id")
        .agg(pl.col("score").max().alias("highest"))
        .join(r.accounts, on="account_id")
        for r, s in zip(replays, scores, strict=True)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", help="simulator seeds, e.g. 301-310")
    ap.add_argument("--randomise", action="store_true", help="randomised simulator worlds")
    ap.add_argument("--data", type=Path, action="append", default=[], help="a population dir")
    args = ap.parse_args()
    pops: list[Population] = [load_population(d) for d in args.data]
    if args.seeds:
        lo, _, hi = args.seeds.partition("-")
        for seed in range(int(lo), int(hi or lo) + 1):
            base = SimParams(seed=seed)
            pops.append(simulate(randomised(seed, 1.0, base) if args.randomise else base))
    if len(pops) < FOLDS:
        raise SystemExit(f"give at least {FOLDS} populations of one world")
    replays = [Replay(p) for p in pops]
    snaps = [population_snapshots(p, 24.0)[:2] for p in pops]
    folds = [list(range(len(pops)))[i::FOLDS] for i in range(FOLDS)]
    ours: list[pl.DataFrame | None] = [None] * len(pops)
    trees: list[object] = [None] * len(pops)
    for fold in folds:
        x = np.vstack([snaps[j][0] for j in range(len(pops)) if j not in fold])
        y = np.concatenate([snaps[j][1] for j in range(len(pops)) if j not in fold])
        pos = max(int(y.sum()), 1)
        clf = make_classifier()
        clf.fit(x, y, sample_weight=np.where(y == 1, min(20.0, (len(y) - pos) / pos), 1.0))
        for i in fold:
            ours[i] = replays[i].scored(lambda m, c=clf: c.predict_proba(m)[:, 1])
            trees[i] = clf
    in_world = [s for s in ours if s is not None]
    shipped = Model.load()
    theirs = [r.scored(shipped.predict) for r in replays]
    index = {id(r): i for i, r in enumerate(replays)}

    def ours_last(r: Replay) -> np.ndarray:
        return trees[index[id(r)]].predict_proba(r.last_x)[:, 1]  # type: ignore[attr-defined]

    def theirs_last(r: Replay) -> np.ndarray:
        return shipped.predict(r.last_x)

    report = {
        "populations": len(pops),
        "ceiling_in_world": _report(
            replays, in_world, _threshold(_highest(replays, in_world)), ours_last
        ),
        "shipped_model": _report(replays, theirs, shipped.threshold, theirs_last),
        "shipped_model_threshold_in_world": _report(
            replays, theirs, _threshold(_highest(replays, theirs)), theirs_last
        ),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
