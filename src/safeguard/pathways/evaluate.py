"""Evaluate a model on simulated populations: ranking, flag rates per group, time to flag.

The population is replayed in time order and scored at checkpoints (every `step_hours`), as a
platform would run the job incrementally, so "time to flag" means the time from an offender's
first contact with a minor to the first checkpoint at which its score crossed the threshold.
Ranking metrics (precision at k, PR-AUC) use the scores at the end of the period.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import polars as pl

from safeguard.extras import require
from safeguard.pathways.calibration import in_touch
from safeguard.pathways.errors import PathwaysInputError
from safeguard.pathways.features import (
    DEFAULT_WINDOW_DAYS,
    IN_TOUCH,
    PairState,
    account_table,
    encode_events,
    feature_matrix,
    features_from_state,
    pair_state,
    relevant,
)
from safeguard.pathways.io import load, read_table
from safeguard.pathways.model import Model
from safeguard.pathways.rules import points
from safeguard.pathways.schema import OUTREACH_KINDS
from safeguard.pathways.scoring import explain, score_features
from safeguard.pathways.simulate import (
    PROTECTED_ROLES,
    Population,
    SimParams,
    randomised,
    simulate,
)

#: the benign groups that may each be at most PROTECTED_LIMIT flagged (issue #18): the groups
#: the model's threshold is chosen for, adult gamers and creators besides, and children (declared
#: teenagers are scored, so a child can be flagged)
LIMITED_GROUPS = (*PROTECTED_ROLES, "gamer", "creator", "minor")

#: how many of the highest-scoring benign accounts each seed's result lists
TOP_FALSE_POSITIVES = 10

#: the most a protected group (teachers, coaches, parents...) may have flagged: 1%
PROTECTED_LIMIT = 0.01


def checkpoints(
    pop: Population, step_hours: float, first_hours: float = 0.0
) -> Iterator[tuple[datetime, pl.DataFrame]]:
    """(time, features) at every checkpoint, built incrementally (exact while the population
    spans no more than the feature window)."""
    if pop.params.days > DEFAULT_WINDOW_DAYS:
        raise ValueError("checkpoint replay needs days <= the feature window")
    acc = account_table(pop.accounts)
    ev = encode_events(pop.accounts, pop.events)
    start = pop.params.start
    end = start + timedelta(days=pop.params.days)
    state: PairState | None = None
    prev = None
    t = start + timedelta(hours=first_hours or step_hours)
    while True:
        t = min(t, end)
        batch = (
            ev.filter(pl.col("ts") <= t)
            if prev is None
            else ev.filter((pl.col("ts") > prev) & (pl.col("ts") <= t))
        )
        delta = pair_state(acc, batch, None, t)
        state = delta if state is None else state.merge(delta)
        yield t, features_from_state(acc, state, t)
        if t >= end:
            return
        prev, t = t, t + timedelta(hours=step_hours)


def first_contacts(pop: Population) -> pl.DataFrame:
    """account_id, first_contact: when each account first reached out to a relevant minor."""
    acc = account_table(pop.accounts)
    bands = acc.select("id", "band")
    ev = encode_events(pop.accounts, pop.events).filter(pl.col("kind").is_in(OUTREACH_KINDS))
    ev = ev.join(bands.rename({"id": "a", "band": "a_band"}), on="a").join(
        bands.rename({"id": "b", "band": "b_band"}), on="b"
    )
    return (
        ev.filter(relevant(pl.col("a_band"), pl.col("b_band")))
        .group_by("a")
        .agg(pl.col("ts").min().alias("first_contact"))
        .join(acc.select(pl.col("id").alias("a"), "account_id"), on="a")
        .select("account_id", "first_contact")
    )


def minors_contacted_by(pop: Population, account_ids: list[str], until: dict[str, datetime]):
    """Distinct relevant minors each account reached out to at or before `until[account]`."""
    acc = account_table(pop.accounts)
    bands = acc.select("account_id", "band")
    ev = pop.events.filter(
        pl.col("actor").is_in(account_ids) & pl.col("kind").is_in(OUTREACH_KINDS)
    )
    ev = ev.join(bands.rename({"account_id": "actor", "band": "a_band"}), on="actor").join(
        bands.rename({"account_id": "target", "band": "b_band"}), on="target"
    )
    ev = ev.filter(relevant(pl.col("a_band"), pl.col("b_band")))
    lim = pl.DataFrame(
        {"actor": list(until), "until": pl.Series(list(until.values()), dtype=pl.Datetime("us"))}
    )
    return dict(
        ev.join(lim, on="actor")
        .filter(pl.col("ts") <= pl.col("until"))
        .group_by("actor")
        .agg(pl.col("target").n_unique())
        .iter_rows()
    )


@dataclass
class SeedResult:
    seed: int
    final: pl.DataFrame  # account_id, role, offender, score, flagged, points
    first_flag: dict[str, datetime]
    first_contact: dict[str, datetime]
    contacted_before_flag: dict[str, int]
    #: the highest-scoring accounts that are not offenders, with what their scores rest on
    top_false_positives: list[dict[str, object]]
    #: account_id, highest: each account's highest score while in touch with minors
    highest: pl.DataFrame
    #: account_id, role, age_band: offenders the scorer never scored (a declared age outside
    #: schema.SUBJECT_BANDS, or a minor's age band and no minor contacted); every figure counts
    #: them as missed
    unscored: pl.DataFrame


def run_population(
    pop: Population,
    model: Model,
    *,
    threshold: float | None = None,
    step_hours: float = 3.0,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Replay one population through the scorer at checkpoints."""
    thr = model.threshold if threshold is None else threshold
    first_flag: dict[str, datetime] = {}
    scored = None
    seen: list[pl.DataFrame] = []
    for t, feats in checkpoints(pop, step_hours):
        scored = score_features(feats, model, thr)
        for aid in scored.filter(pl.col("flagged"))["account_id"].to_list():
            first_flag.setdefault(aid, t)
        seen.append(scored.filter(IN_TOUCH).select("account_id", "score"))
        if progress:
            progress(1)
    assert scored is not None
    final = scored.join(pop.truth.select("account_id", "role", "offender"), on="account_id")
    final = final.with_columns(pl.Series("points", points(feature_matrix(final))))
    fc = dict(first_contacts(pop).iter_rows())
    offenders = final.filter(pl.col("offender"))["account_id"].to_list()
    flagged_off = {a: first_flag[a] for a in offenders if a in first_flag}
    before = minors_contacted_by(pop, list(flagged_off), flagged_off) if flagged_off else {}
    top = (
        final.filter(~pl.col("offender"))
        .sort(["raw", "account_id"], descending=[True, False])
        .head(TOP_FALSE_POSITIVES)
    )
    said = explain(top.with_columns(pl.lit(True).alias("flagged")), model)
    false_positives = [
        {
            "account_id": s.account_id,
            "role": role,
            "score": round(s.score, 6),
            "flagged": bool(flagged),
            "reasons": [r["code"] for r in s.reasons],
        }
        for s, role, flagged in zip(said, top["role"], top["flagged"], strict=True)
    ]
    highest = pl.concat(seen).group_by("account_id").agg(pl.col("score").max().alias("highest"))
    unscored = (
        pop.truth.filter(pl.col("offender"))
        .join(final, on="account_id", how="anti")
        .join(pop.accounts.select("account_id", "age_band"), on="account_id")
        .select("account_id", "role", "age_band")
    )
    return SeedResult(
        pop.params.seed, final, first_flag, fc, before, false_positives, highest, unscored
    )


def run_seed(
    params: SimParams,
    model: Model,
    *,
    threshold: float | None = None,
    step_hours: float = 3.0,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    return run_population(
        simulate(params), model, threshold=threshold, step_hours=step_hours, progress=progress
    )


def load_population(directory: Path | str) -> Population:
    """A directory written by `safeguard pathways simulate` (accounts, events, truth), or by
    another generator with the same files (its params.json, if any, need only a seed)."""
    d = Path(directory)
    if not d.is_dir():
        raise PathwaysInputError(
            str(d),
            "not a directory (expected one holding accounts, events and truth files, as "
            "`safeguard pathways simulate` writes)",
        )

    def find(stem: str) -> Path:
        for ext in ("csv", "jsonl", "parquet"):
            if (d / f"{stem}.{ext}").is_file():
                return d / f"{stem}.{ext}"
        raise PathwaysInputError(str(d / stem), "missing (expected .csv, .jsonl or .parquet)")

    log = load(find("accounts"), find("events"))
    truth_path = find("truth")
    truth, fmt = read_table(truth_path, ("account_id", "role"))
    # offender roles are offender_<pattern>: another generator may have patterns of its own
    truth = truth.with_columns(pl.col("role").str.starts_with("offender").alias("offender"))
    missing = log.accounts.join(truth, on="account_id", how="anti")
    if missing.height:
        raise PathwaysInputError(
            str(truth_path), f"no role for account {missing['account_id'][0]!r}"
        )
    raw = json.loads((d / "params.json").read_text()) if (d / "params.json").is_file() else {}
    if "start" in raw and "days" in raw:  # written by `simulate`
        params = SimParams(
            seed=int(raw.get("seed", 0)),
            start=datetime.fromisoformat(raw["start"]),
            days=int(raw["days"]),
        )
    elif log.events.height:  # another generator's: the span of its events
        first = cast(datetime, log.events["ts"].min())
        last = cast(datetime, log.events["ts"].max())
        start = datetime(first.year, first.month, first.day)
        params = SimParams(
            seed=int(raw.get("seed", 0)),
            start=start,
            days=math.ceil((last - start).total_seconds() / 86400),
        )
    else:
        params = SimParams()
    if params.days > DEFAULT_WINDOW_DAYS:
        raise PathwaysInputError(
            str(d),
            f"its events span {params.days} days; a replay covers at most "
            f"{DEFAULT_WINDOW_DAYS} (the feature window): split the log by time",
        )
    return Population(log.accounts, log.events, truth, params)


def evaluate_populations(
    pops: list[Population],
    model: Model,
    *,
    threshold: float | None = None,
    step_hours: float = 3.0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Replay given populations (load_population's) and summarise them as `evaluate` does
    its seeds."""
    results = [
        run_population(pop, model, threshold=threshold, step_hours=step_hours, progress=progress)
        for pop in pops
    ]
    return _with_settings(summarize(results), model, threshold, step_hours)


def _with_settings(
    out: dict[str, Any], model: Model, threshold: float | None, step_hours: float
) -> dict[str, Any]:
    """A summary with the threshold and spacing it was measured at, and what the model's
    false-positive budget came to on its own calibration populations (calibration.py), to
    set beside each population's `benign_in_touch`."""
    out["threshold"] = model.threshold if threshold is None else threshold
    out["step_hours"] = step_hours
    out["model_false_positive_budget"] = model.info.get("false_positive_budget")
    return out


def _precision_at_k(y: np.ndarray, score: np.ndarray) -> float:
    """Precision among the k highest scores (k = positives), ties shared out evenly."""
    k = int(y.sum())
    if k == 0:
        return float("nan")
    order = np.argsort(-score, kind="stable")
    y, score = y[order], score[order]
    taken, hits = 0, 0.0
    for v in np.unique(score)[::-1]:
        block = score == v
        n = int(block.sum())
        pos = float(y[block].sum())
        if taken + n <= k:
            taken += n
            hits += pos
        else:
            hits += pos * (k - taken) / n
            break
        if taken == k:
            break
    return hits / k


def summarize(results: list[SeedResult]) -> dict[str, object]:
    metrics = require("sklearn.metrics", "pathways", "evaluating the pathways model")
    average_precision_score = metrics.average_precision_score

    per_seed: list[dict[str, Any]] = []
    hours: list[float] = []
    hours_by_role: dict[str, list[float]] = {}
    before: list[int] = []
    groups: dict[str, list[int]] = {}
    unscored_bands: dict[str, int] = {}
    for r in results:
        f = r.final
        u = r.unscored.height
        for band, n in r.unscored.group_by("age_band").len().iter_rows():
            unscored_bands[band] = unscored_bands.get(band, 0) + int(n)
        # offenders never scored rank below every scored account: missed, not left out
        y = np.concatenate([f["offender"].to_numpy().astype(int), np.ones(u, dtype=int)])
        raw = _below(f["raw"].to_numpy(), u)
        pts = _below(f["points"].to_numpy(), u)
        n_off = int(y.sum())
        per_seed.append(
            {
                "seed": r.seed,
                "offenders": n_off,
                "offenders_not_scored": u,
                "scored_accounts": f.height,
                "precision_at_k": _precision_at_k(y, raw),
                "pr_auc": float(average_precision_score(y, raw)) if y.any() else float("nan"),
                "recall_at_threshold": (
                    int(f.filter(pl.col("offender"))["flagged"].sum()) / n_off
                    if n_off
                    else float("nan")
                ),
                "rules_only_precision_at_k": _precision_at_k(y, pts),
                "rules_only_pr_auc": float(average_precision_score(y, pts)) if y.any() else 0.0,
                "top_false_positives": r.top_false_positives,
                "benign_in_touch": _benign_in_touch(r),
            }
        )
        ever = f.with_columns(pl.col("account_id").is_in(list(r.first_flag)).alias("ever"))
        by_role = ever.group_by("role").agg(
            pl.len(), pl.col("ever").sum(), pl.col("flagged").sum().alias("now")
        )
        for role, n, n_ever, n_now in by_role.iter_rows():
            g = groups.setdefault(role, [0, 0, 0])
            g[0] += int(n)
            g[1] += int(n_ever)
            g[2] += int(n_now)
        for role in r.unscored["role"]:
            groups.setdefault(role, [0, 0, 0])[0] += 1
            hours.append(math.inf)
            hours_by_role.setdefault(role, []).append(math.inf)
        for role, aid in f.filter(pl.col("offender")).select("role", "account_id").iter_rows():
            if aid in r.first_flag and aid in r.first_contact:
                h = max(0.0, (r.first_flag[aid] - r.first_contact[aid]).total_seconds() / 3600)
                before.append(r.contacted_before_flag.get(aid, 0))
            else:
                h = math.inf
            hours.append(h)
            hours_by_role.setdefault(role, []).append(h)

    def med(v: list[float]) -> float | None:
        if not v:
            return None
        m = float(np.median(v))
        return None if math.isinf(m) else round(m, 2)

    def mean(key: str) -> float:
        return round(float(np.nanmean([p[key] for p in per_seed])), 4)

    rates = {
        role: {
            "accounts": g[0],
            "ever_flagged": g[1],
            "ever_flagged_rate": round(g[1] / g[0], 4) if g[0] else None,
            "flagged_at_end_rate": round(g[2] / g[0], 4) if g[0] else None,
        }
        for role, g in sorted(groups.items())
    }
    return {
        "seeds": [r.seed for r in results],
        "precision_at_k": mean("precision_at_k"),
        "precision_at_k_min": round(min(p["precision_at_k"] for p in per_seed), 4),
        "recall_at_threshold": mean("recall_at_threshold"),
        "pr_auc": mean("pr_auc"),
        "rules_only": {
            "precision_at_k": mean("rules_only_precision_at_k"),
            "pr_auc": mean("rules_only_pr_auc"),
        },
        "flagged_rate_by_group": rates,
        "protected_groups": list(LIMITED_GROUPS),
        "protected_limit": PROTECTED_LIMIT,
        "limit_breaches": [
            {"group": role, **rates[role]}
            for role in LIMITED_GROUPS
            if role in rates and (rates[role]["ever_flagged_rate"] or 0) > PROTECTED_LIMIT
        ],
        "time_to_flag_hours": {
            "median": med(hours),
            "by_pattern_median": {k: med(v) for k, v in hours_by_role.items()},
            "never_flagged": sum(math.isinf(h) for h in hours),
            "offenders": len(hours),
        },
        "children_contacted_before_flag": {
            "median": float(np.median(before)) if before else None,
            "mean": round(float(np.mean(before)), 2) if before else None,
        },
        "offenders_not_scored": {
            "count": sum(unscored_bands.values()),
            "by_declared_age_band": dict(sorted(unscored_bands.items())),
        },
        "per_seed": per_seed,
    }


def _below(values: np.ndarray, n: int) -> np.ndarray:
    """`values` with `n` more, all tied below the lowest (offenders the scorer never saw)."""
    floor = (float(values.min()) if values.size else 0.0) - 1.0
    return np.concatenate([values, np.full(n, floor)])


def _benign_in_touch(r: SeedResult) -> dict[str, object]:
    """The benign accounts that were ever in touch with minors: how many, how many were ever
    flagged, and the quantiles of their highest scores (the population's score distribution,
    as calibration.measure records it for the calibration populations)."""
    benign = r.highest.join(
        r.final.filter(~pl.col("offender")).select("account_id"), on="account_id", how="semi"
    )
    flagged = int(benign["account_id"].is_in(list(r.first_flag)).sum())
    return in_touch(benign["highest"].to_numpy(), flagged)


def evaluate(
    seeds: list[int],
    model: Model,
    *,
    params: SimParams | None = None,
    threshold: float | None = None,
    step_hours: float = 3.0,
    progress: Callable[[int], None] | None = None,
    randomise: bool = False,
) -> dict[str, Any]:
    """Simulate and replay each seed; with `randomise`, each with its own parameters drawn
    around `params` (simulate.randomised)."""
    base = params or SimParams()
    results = [
        run_seed(
            randomised(s, base.scale, base)
            if randomise
            else SimParams(**{**base.__dict__, "seed": s}),
            model,
            threshold=threshold,
            step_hours=step_hours,
            progress=progress,
        )
        for s in seeds
    ]
    out = _with_settings(summarize(results), model, threshold, step_hours)
    out["randomised"] = randomise
    return out
