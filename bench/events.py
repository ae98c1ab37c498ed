"""Events benchmark (issue #15): verdicts for upload events with precomputed hashes, against
plain lookups, on the same server in the same run.

Uses bench/service.py's store (`--size` random PDQ hashes in one bank, a built SQLite store
kept in bench/out/ and copied for each run) and its load driver. Starts `safeguard serve`
with `--workers` processes and measures, in `--rounds` alternating rounds (so both phases
see the same machine; the result gives the medians and every round):
  lookups   `GET /v1/match?pdq=...` (the baseline: bench/service.py's measurement)
  verdicts  `POST /v1/events` with one upload event each, `{"hashes": {"pdq": ...}}`, from
            20,000 accounts: half the hashes (`--match-share`) are banked ones with 0-15
            bits flipped (they match: the default rule holds them and opens or joins the
            account's case, a write per event; concurrent writes share a transaction,
            act/combine.py), the rest are fresh (allowed, nothing written)

Goal (issue #15): verdicts at least half the lookup throughput, p99 under 50 ms.

With `--database-url` (PostgreSQL, the production store) the bank `bench` of that store is
filled once with `--size` hashes and reused by later runs (give it its own schema).

    python bench/events.py --size 1000000 --json
    psql -h 127.0.0.1 -U postgres test -c 'CREATE SCHEMA IF NOT EXISTS bench_events_1m'
    python bench/events.py --size 1000000 --json \
        --database-url "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench_events_1m"

`--profile DIR` records the server's workers with py-spy (`--gil`: where the CPU goes)
during the last round's lookups and verdicts phases (the CPU figures of that round include
py-spy's cost). Each round also gives every worker's share of the server's
CPU in each phase (`[0.5, 0.5]`: the two workers shared the load evenly).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from service import (  # noqa: E402  (the sibling benchmark: store, driver, process helpers)
    REPO,
    _start_server,
    _stop,
    cpu_s,
    drive,
    near,
    random_hashes,
)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=10, help="per phase and round")
    ap.add_argument("--rounds", type=int, default=3, help="lookups then verdicts, this often")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8, help="concurrent connections")
    ap.add_argument("--queries", type=int, default=20_000, help="distinct queries cycled")
    ap.add_argument(
        "--match-share",
        type=float,
        default=0.5,
        help="share of the queries (lookups and uploads alike) that match a banked hash",
    )
    ap.add_argument(
        "--database-url",
        help="PostgreSQL: the store to use (its bank `bench` is made with --size hashes once)",
    )
    ap.add_argument(
        "--warmup",
        type=float,
        default=25,
        help="seconds of each phase before the rounds (each load connection cycles its own "
        "slice of the queries, and a worker's cache of matched items' metadata holds what its "
        "own connections asked: under 20 s or so a worker can start the verdicts cold)",
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--threads",
        action="store_true",
        help="each round also gives the server's CPU per request by thread, in both phases "
        "(main: the workers' event loops; the busiest other threads, each summed over workers)",
    )
    ap.add_argument(
        "--profile",
        metavar="DIR",
        help="record each server worker with py-spy (must be installed) in the last round",
    )
    args = ap.parse_args()
    if args.profile and shutil.which("py-spy") is None:
        sys.exit("error: --profile needs py-spy on PATH (pip install py-spy)")

    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-events-"))
    if args.database_url:
        url = args.database_url
        home = tmp / "home"
        home.mkdir()
        lookup_token = _postgres_store(url, home, args.size)
    else:
        home, url, lookup_token = sqlite_store(args.size, tmp)
    events_token, queries, bodies = events_and_queries(home, url, args.queries, args.match_share)
    admin_token = _admin_key(home, url)

    from sqlalchemy import func, select

    from safeguard import Safeguard
    from safeguard.store.review_tables import Case, Event

    env = {**os.environ, "SAFEGUARD_HOME": str(home), "SAFEGUARD_DATABASE_URL": url}
    server, port, _ = _start_server(env, args.workers, tmp / "server.log")
    try:
        base = {"host": "127.0.0.1", "port": port, "clients": args.clients}
        lookups_spec = {
            **base,
            "token": lookup_token,
            "paths": [f"/v1/match?pdq={q}" for q in queries],
        }
        events_spec = {**base, "token": events_token, "paths": ["/v1/events"], "bodies": bodies}
        drive({**lookups_spec, "seconds": args.warmup}, tmp)  # warm up both paths
        drive({**events_spec, "seconds": args.warmup}, tmp)
        rounds = []
        for n in range(args.rounds):  # alternating, so both see the same machine
            c0, w0, t0 = cpu_s(server.pid), _worker_cpu(server.pid), _thread_cpu(server.pid)
            i0 = _idle()
            profile = args.profile and n == args.rounds - 1
            spies = _spy(server.pid, args.profile, args.seconds, "lookups") if profile else []
            lookups = drive({**lookups_spec, "seconds": args.seconds}, tmp)
            for spy in spies:
                spy.wait(timeout=60)
            c1, w1, t1 = cpu_s(server.pid), _worker_cpu(server.pid), _thread_cpu(server.pid)
            i1 = _idle()
            b1 = _batches(port, admin_token)
            spies = _spy(server.pid, args.profile, args.seconds, "verdicts") if profile else []
            verdicts = drive({**events_spec, "seconds": args.seconds}, tmp)
            for spy in spies:
                spy.wait(timeout=60)
            c2, w2, t2 = cpu_s(server.pid), _worker_cpu(server.pid), _thread_cpu(server.pid)
            i2 = _idle()
            b2 = _batches(port, admin_token)
            threads = (
                {
                    "machine_idle_share_lookups": _idle_share(i0, i1),
                    "machine_idle_share_verdicts": _idle_share(i1, i2),
                    "thread_cpu_us_per_lookup": _by_thread(t0, t1, lookups["requests"]),
                    "thread_cpu_us_per_verdict": _by_thread(t1, t2, verdicts["requests"]),
                }
                if args.threads
                else {}
            )
            rounds.append(
                {
                    "verdicts_per_s": verdicts["per_s"],
                    "verdicts_p50_ms": verdicts["p50_ms"],
                    "verdicts_p99_ms": verdicts["p99_ms"],
                    "verdicts_errors": verdicts["errors"],
                    "server_cpu_us_per_verdict": round(
                        1e6 * (c2 - c1) / max(1, verdicts["requests"]), 1
                    ),
                    "baseline_lookups_per_s": lookups["per_s"],
                    "baseline_lookups_p50_ms": lookups["p50_ms"],
                    "baseline_lookups_p99_ms": lookups["p99_ms"],
                    "server_cpu_us_per_lookup": round(
                        1e6 * (c1 - c0) / max(1, lookups["requests"]), 1
                    ),
                    # events judged together per group-commit batch (one write transaction)
                    "events_per_batch": round((b2[1] - b1[1]) / max(1.0, b2[0] - b1[0]), 2),
                    "worker_cpu_shares_lookups": _shares(w0, w1),
                    "worker_cpu_shares_verdicts": _shares(w1, w2),
                    "ratio_verdicts_vs_lookups": round(
                        verdicts["per_s"] / lookups["per_s"] if lookups["per_s"] else 0.0, 3
                    ),
                    **threads,
                }
            )
    finally:
        _stop(server)
    with (
        Safeguard.open(home=home, database_url=url, actor="bench") as sg,
        sg.db.transaction() as s,
    ):
        stored = s.scalar(select(func.count()).select_from(Event))
        cases = s.scalar(select(func.count()).select_from(Case))
    if os.environ.get("KEEP"):
        print(tmp, file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)

    medians = {
        k: statistics.median(r[k] for r in rounds)  # type: ignore[type-var]
        for k in rounds[0]
        if not k.startswith(("worker_cpu_shares", "thread_cpu"))
    }
    ratio, p99 = medians["ratio_verdicts_vs_lookups"], medians["verdicts_p99_ms"]
    result = {
        "size": args.size,
        "workers": args.workers,
        "clients": args.clients,
        "backend": url.split(":")[0],
        "match_share": args.match_share,
        "rounds": len(rounds),
        "seconds_per_phase": args.seconds,
        "warmup_seconds": args.warmup,
        **{f"median_{k}": v for k, v in medians.items()},
        "events_stored": stored,
        "cases": cases,
        "goal_met": ratio >= 0.5 and p99 < 50,
        "per_round": rounds,
    }
    print(json.dumps(result, indent=None if args.json else 2))


def sqlite_store(size: int, tmp: Path) -> tuple[Path, str, str]:
    """A copy under `tmp` of the SQLite store of `size` hashes that bench/service.py builds
    (built on first use, kept in bench/out/): its home, database URL and a lookup key."""
    cached = REPO / "bench" / "out" / f"service-store-{size}"
    if not (cached / "token").exists():
        # build it the way bench/service.py does (one short run)
        subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "service.py"),
                "--size",
                str(size),
                "--seconds",
                "1",
                "--json",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    home = tmp / "home"
    shutil.copytree(cached / "home", home)
    return home, f"sqlite:///{home / 'safeguard.db'}", (cached / "token").read_text().strip()


def events_and_queries(
    home: Path, url: str, count: int, match_share: float
) -> tuple[str, list[str], list[str]]:
    """A key with the events scope, `count` PDQ queries (`match_share` of them banked hashes
    with 0-15 bits flipped, the rest fresh) and one upload event's body for each, from 20,000
    accounts."""
    from sqlalchemy import select

    from safeguard import Safeguard
    from safeguard.access import KeyService
    from safeguard.store.models import ContentSignal

    rng = random.Random(2)
    with Safeguard.open(home=home, database_url=url, actor="bench") as sg:
        token = (
            KeyService(sg.db, "bench")
            .create(f"events-{os.getpid()}", ["events"], rate_limit=10**9)
            .token
        )
        with sg.db.transaction() as s:
            banked = list(
                s.scalars(
                    select(ContentSignal.signal_value)
                    .where(ContentSignal.signal_type == "pdq")
                    .limit(50_000)
                )
            )
    matching = round(count * match_share)
    queries = [near(rng, rng.choice(banked), rng.randint(0, 15)) for _ in range(matching)]
    queries += random_hashes(rng, count - len(queries))
    rng.shuffle(queries)
    bodies = [
        json.dumps(
            {
                "events": [
                    {"kind": "upload", "account_id": f"acct-{i % 20_000}", "hashes": {"pdq": q}}
                ]
            }
        )
        for i, q in enumerate(queries)
    ]
    return token, queries, bodies


def _admin_key(home: Path, url: str) -> str:
    """A key with the admin scope (to read `/metrics`)."""
    from safeguard import Safeguard
    from safeguard.access import KeyService

    with Safeguard.open(home=home, database_url=url, actor="bench") as sg:
        return KeyService(sg.db, "bench").create(f"admin-{os.getpid()}", ["admin"]).token


def _batches(port: int, token: str) -> tuple[float, float]:
    """The server's group-commit batches so far and the events in them (`/metrics`)."""
    import httpx

    from safeguard.api.metrics import read_samples

    got = read_samples(
        httpx.get(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
        ).text,
        "safeguard_event_batch_events",
    )
    return (
        got.get("safeguard_event_batch_events_count", 0.0),
        got.get("safeguard_event_batch_events_sum", 0.0),
    )


def _worker_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of each worker process (the supervisor's children)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {c: cpu_s(int(c)) for c in children}


def _thread_cpu(pid: int) -> dict[tuple[str, str], float]:
    """CPU seconds so far of every thread of every worker, by (worker, thread id)."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        for task in Path(f"/proc/{c}/task").iterdir():
            try:  # utime and stime: fields 14 and 15, after the command's ")"
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended
                continue
            out[(c, task.name)] = (int(fields[11]) + int(fields[12])) / hz
    return out


def _idle() -> tuple[int, int]:
    """The machine's (idle, total) CPU ticks so far, from /proc/stat."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return ticks[3] + ticks[4], sum(ticks)


def _idle_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    return round((after[0] - before[0]) / max(1, after[1] - before[1]), 3)


def _by_thread(
    before: dict[tuple[str, str], float], after: dict[tuple[str, str], float], requests: int
) -> dict[str, object]:
    """µs of CPU per request on the workers' main threads (event loops), and on each of the
    busiest other threads ranked within its worker (summed over workers by rank)."""
    per: dict[str, list[float]] = {}
    main = 0.0
    for (worker, tid), s in after.items():
        used = s - before.get((worker, tid), 0.0)
        if worker == tid:
            main += used
        else:
            per.setdefault(worker, []).append(used)
    ranked = [sorted(v, reverse=True) for v in per.values()]
    others = [sum(r[i] for r in ranked if i < len(r)) for i in range(4)]
    scale = 1e6 / max(1, requests)
    return {"main": round(main * scale, 1), "others": [round(o * scale, 1) for o in others]}


def _shares(before: dict[str, float], after: dict[str, float]) -> list[float]:
    """Each worker's share of the CPU its workers used between two readings, largest
    first: [0.5, 0.5] is an even spread over two workers, [1.0, 0.0] all on one."""
    if before.keys() != after.keys():
        print(f"workers changed: {sorted(before)} -> {sorted(after)}", file=sys.stderr)
    used = [after[c] - before.get(c, 0.0) for c in after]
    total = sum(used) or 1.0
    return sorted((round(u / total, 2) for u in used), reverse=True)


def _spy(pid: int, out: str, seconds: float, phase: str) -> list[subprocess.Popen]:
    """py-spy recorders of the server's worker processes during `phase` (speedscope files
    `worker-PID-PHASE.json` in `out`)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        subprocess.Popen(
            [
                "py-spy",
                "record",
                "--gil",
                "--pid",
                c,
                "--duration",
                str(int(seconds)),
                "--rate",
                "200",
                "--format",
                "speedscope",
                "--output",
                f"{out}/worker-{c}-{phase}.json",
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for c in children
    ]


def _postgres_store(url: str, home: Path, size: int) -> str:
    """A lookup key for the PostgreSQL store at `url`, its bank `bench` filled once."""
    from safeguard import Safeguard
    from safeguard.access import KeyService
    from safeguard.banks import HashRecord

    with Safeguard.open(home=home, database_url=url, actor="bench") as sg:
        if "bench" not in {b.name for b in sg.banks.list()}:
            sg.banks.create("bench")
            banked = random_hashes(random.Random(1), size)
            sg.banks.import_records("bench", [HashRecord({"pdq": h}) for h in banked], source="x")
        return (
            KeyService(sg.db, "bench")
            .create(f"lookups-{os.getpid()}", ["match"], rate_limit=10**9)
            .token
        )


if __name__ == "__main__":
    from safeguard.errors import SafeguardError

    try:
        main()
    except SafeguardError as e:  # a store that cannot be opened: say why, no traceback
        sys.exit(f"error: {e.message}")
