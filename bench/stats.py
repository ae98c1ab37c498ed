"""Benchmark: importing the full Home Office police force area table (23,068 rows).

Times `safeguard stats import` of ../shared/datasets/crime-stats/raw/prc-pfa-mar2013-onwards-
tables201718.csv through the library (read, validate every row, check overlaps, bulk insert,
commit) into a fresh store on each backend: SQLite, and PostgreSQL when one is reachable
(SAFEGUARD_BENCH_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test; each
round uses its own schema, dropped afterwards). The schema migrations and the built-in published
figures are set up before the clock starts. Reports median/min/max seconds over the rounds and
the time spent reading and validating alone. The target is under 5 s. Prints one JSON object.

    python bench/stats.py [--rounds N] [--file PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from safeguard.stats import StatsService
from safeguard.stats.ingest import read_file
from safeguard.store import Database

DEFAULT_FILE = (
    Path(__file__).resolve().parents[1].parent
    / "shared/datasets/crime-stats/raw/prc-pfa-mar2013-onwards-tables201718.csv"
)
POSTGRES = os.environ.get(
    "SAFEGUARD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def time_import(url: str, path: Path) -> tuple[float, int]:
    stats = StatsService(Database.open(url), "bench")
    try:
        stats.repo.ensure_builtin()
        started = time.perf_counter()
        [info] = stats.import_files([path])
        return time.perf_counter() - started, info.figures
    finally:
        stats.close()


def sqlite_round(path: Path) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as d:
        return time_import(f"sqlite:///{d}/bench.db", path)


def postgres_round(path: Path) -> tuple[float, int] | None:
    try:
        admin = create_engine(POSTGRES, connect_args={"connect_timeout": 5})
        with admin.begin() as conn:
            conn.execute(text("select 1"))
    except Exception:
        return None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES else "?"
    try:
        return time_import(f"{POSTGRES}{sep}options=-csearch_path%3D{schema}", path)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def summarize(times: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    args = ap.parse_args()
    with open(args.file, encoding="utf-8") as fh:
        rows = sum(1 for _ in fh) - 1

    parse_times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        read_file(args.file)
        parse_times.append(time.perf_counter() - started)

    result: dict[str, object] = {
        "benchmark": "stats import of the Home Office PFA table",
        "file": args.file.name,
        "rows": rows,
        "rounds": args.rounds,
        "target_s": 5.0,
        "read_and_validate": summarize(parse_times),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    backends: dict[str, object] = {}
    sq = [sqlite_round(args.file) for _ in range(args.rounds)]
    backends["sqlite"] = {**summarize([t for t, _ in sq]), "figures": sq[0][1]}
    pg = [postgres_round(args.file) for _ in range(args.rounds)]
    if all(r is not None for r in pg):
        backends["postgresql"] = {
            **summarize([r[0] for r in pg if r]),
            "figures": pg[0][1] if pg[0] else 0,
        }
    else:
        backends["postgresql"] = "not reachable"
    result["import"] = backends
    result["under_target"] = all(
        isinstance(b, dict) and b["max_s"] < 5.0 for b in backends.values() if b != "not reachable"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
