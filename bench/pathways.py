"""Benchmark: scoring 10 million events with `safeguard pathways` (issue #7).

Simulates a population big enough for N events (default 10,000,000; cached as Parquet under
bench/out/pathways-<N>/), then times the whole `score` path on it: read and validate both
files, compute the features, run the model, write reason codes for flagged accounts. The target
is under 2 minutes on this machine (2 cores).

Baselines, on the same input in the same run:
  polars-1-thread   the same job with POLARS_MAX_THREADS=1 (a subprocess), i.e. no parallelism;
  spark (--spark)   the Spark feature job (local mode, all cores), features only.
Ratios are reported as baseline time / our time. Prints one JSON object.

    python bench/pathways.py [--events N] [--format parquet|csv] [--spark] [--no-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
EVENTS_PER_SCALE = 330_000  # a little under the events at scale 1.0, so N are always made


def build(n_events: int, fmt: str) -> tuple[Path, Path, int]:
    from safeguard.pathways.io import write_table
    from safeguard.pathways.simulate import SimParams, simulate

    d = OUT / f"pathways-{n_events}"
    a, e = d / f"accounts.{fmt}", d / f"events.{fmt}"
    if a.exists() and e.exists():
        import polars as pl

        n = pl.scan_parquet(e).select(pl.len()).collect().item() if fmt == "parquet" else -1
        return a, e, n
    d.mkdir(parents=True, exist_ok=True)
    scale = n_events / EVENTS_PER_SCALE
    for _ in range(4):  # events grow a little faster than linearly with scale: top up if short
        pop = simulate(SimParams(seed=777, scale=scale))
        if pop.events.height >= n_events:
            break
        scale *= 1.05 * n_events / pop.events.height
    events = pop.events.head(n_events)
    write_table(pop.accounts, a, fmt)
    write_table(events, e, fmt)
    return a, e, events.height


def run_once(accounts: Path, events: Path) -> dict[str, float | int]:
    """The `safeguard pathways score` path, stage by stage."""
    from safeguard.pathways.features import compute_features
    from safeguard.pathways.io import load
    from safeguard.pathways.model import Model
    from safeguard.pathways.scoring import explain, score_features

    model = Model.load()
    t0 = time.perf_counter()
    log = load(accounts, events)
    t1 = time.perf_counter()
    feats = compute_features(log.accounts, log.events)
    t2 = time.perf_counter()
    scored = score_features(feats, model)
    rows = explain(scored, model, all_rows=False)
    t3 = time.perf_counter()
    return {
        "events": log.events.height,
        "accounts": log.accounts.height,
        "scored_accounts": len(rows),
        "flagged": sum(r.flagged for r in rows),
        "read_validate_s": round(t1 - t0, 3),
        "features_s": round(t2 - t1, 3),
        "model_reasons_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 3),
    }


def run_subprocess(accounts: Path, events: Path, env: dict[str, str]) -> dict[str, float | int]:
    """run_once in a fresh process (so thread settings apply and caches start cold)."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", str(accounts), str(events)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_spark(accounts: Path, events: Path) -> dict[str, float]:
    from safeguard.pathways.io import load
    from safeguard.pathways.spark_features import compute_features_spark, local_session

    log = load(accounts, events)
    spark = local_session(cores=os.cpu_count() or 2)
    spark.sparkContext.setLogLevel("ERROR")
    try:
        t0 = time.perf_counter()
        compute_features_spark(spark, log.accounts, log.events)
        return {"features_s": round(time.perf_counter() - t0, 3)}
    finally:
        spark.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--spark", action="store_true", help="also time the Spark feature job")
    ap.add_argument("--no-baseline", action="store_true", help="skip the 1-thread baseline")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(run_once(Path(args.worker[0]), Path(args.worker[1]))))
        return

    t = time.perf_counter()
    accounts, events, _ = build(args.events, args.format)
    build_s = time.perf_counter() - t
    ours = run_subprocess(accounts, events, {})
    n = int(ours["events"])
    result: dict[str, object] = {
        "benchmark": "pathways score",
        "input": {"events": n, "accounts": ours["accounts"], "format": args.format},
        "simulate_and_write_s": round(build_s, 1),
        "polars": {**ours, "events_per_s": round(n / float(ours["total_s"]))},
        "target": "10M events in under 120 s",
        "meets_target": float(ours["total_s"]) < 120 * n / 10_000_000,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    if not args.no_baseline:
        one = run_subprocess(accounts, events, {"POLARS_MAX_THREADS": "1"})
        result["baseline_polars_1_thread"] = {
            **one,
            "events_per_s": round(n / float(one["total_s"])),
        }
        result["speedup_vs_polars_1_thread"] = round(
            float(one["total_s"]) / float(ours["total_s"]), 2
        )
    if args.spark:
        sp = run_spark(accounts, events)
        result["baseline_spark_local"] = {
            **sp,
            "events_per_s": round(n / sp["features_s"]),
        }
        result["features_speedup_vs_spark"] = round(sp["features_s"] / float(ours["features_s"]), 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
