"""HTTP service benchmark: lookups by hash against a large bank, over loopback.

Starts `safeguard serve` itself (a fresh SQLite store by default, or `--database-url`),
loads `--size` random PDQ hashes into one bank through the library's import (a built SQLite
store is kept in bench/out/ and copied for later runs of the same size; `--fresh` rebuilds
it), waits until every worker has its index, then drives `GET /v1/match?pdq=...` from a
separate process (asyncio, keep-alive connections) for `--seconds`. Half the queries are
banked hashes with 0-15 bits flipped (they match), half are fresh random hashes (they do
not).

Named baselines, measured by the same driver in the same run:
  health      `GET /livez` (no key, no lookup): the HTTP stack's own ceiling
  in_process  `Matcher.lookup` called directly in one thread: the lookup without HTTP

With `--soak S` the driver then runs for S more seconds and the server's resident memory
(all its processes) is sampled throughout; `rss_mb_start` is taken once the index is loaded
and the first measurement ran, `rss_mb_end` at the end.

    python bench/service.py --size 1000000 --seconds 30 --json
    python bench/service.py --size 1000000 --seconds 30 --soak 600 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAFEGUARD = str(Path(sys.executable).with_name("safeguard"))


# -- the load driver (runs in its own process) -------------------------------------------


async def _connection(
    host: str, port: int, requests: list[bytes], deadline: float, out: dict
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    while time.perf_counter() < deadline:
        req = requests[i % len(requests)]
        i += 1
        t0 = time.perf_counter()
        writer.write(req)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            out["errors"] += 1
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            continue
        out["latencies"].append(time.perf_counter() - t0)
        if status != 200:
            out["errors"] += 1
            out["statuses"][status] = out["statuses"].get(status, 0) + 1
    writer.close()


async def _drive(
    host: str, port: int, paths: list[str], token: str, clients: int, seconds: float
) -> dict:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    requests = [f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n".encode() for p in paths]
    out: dict = {"latencies": [], "errors": 0, "statuses": {}}
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(
            _connection(host, port, requests[c::clients] or requests, deadline, out)
            for c in range(clients)
        )
    )
    elapsed = time.perf_counter() - start
    lat = sorted(out["latencies"])
    n = len(lat)
    return {
        "requests": n,
        "per_s": round(n / elapsed, 1),
        "p50_ms": round(lat[n // 2] * 1000, 2) if n else None,
        "p99_ms": round(lat[min(n - 1, int(n * 0.99))] * 1000, 2) if n else None,
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if n else None,
        "errors": out["errors"],
        "statuses": out["statuses"],
    }


def driver_main(args: argparse.Namespace) -> None:
    spec = json.loads(Path(args.drive).read_text())
    result = asyncio.run(
        _drive(
            spec["host"],
            spec["port"],
            spec["paths"],
            spec["token"],
            spec["clients"],
            spec["seconds"],
        )
    )
    print(json.dumps(result))


def drive(spec: dict, tmp: Path) -> dict:
    """Run the driver as a separate process and return its JSON."""
    path = tmp / f"drive-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run(
        [sys.executable, __file__, "--drive", str(path)],
        capture_output=True,
        text=True,
        timeout=spec["seconds"] + 120,
        check=True,
    )
    return json.loads(out.stdout)


# -- the server side ---------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except FileNotFoundError:
            continue
    return round(total / 1024, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def random_hashes(rng: random.Random, n: int) -> list[str]:
    return [f"{rng.getrandbits(256):064x}" for _ in range(n)]


def near(rng: random.Random, h: str, bits: int) -> str:
    v = int(h, 16)
    for b in rng.sample(range(256), bits):
        v ^= 1 << b
    return f"{v:064x}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--soak", type=float, default=0, help="extra seconds of load for memory")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8, help="concurrent connections")
    ap.add_argument("--queries", type=int, default=20_000, help="distinct queries cycled")
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    ap.add_argument("--fresh", action="store_true", help="build the store even if cached")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--drive", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        driver_main(args)
        return

    from safeguard import Safeguard
    from safeguard.access import KeyService
    from safeguard.banks import HashRecord

    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-service-"))
    home = tmp / "home"
    url = args.database_url or f"sqlite:///{home / 'safeguard.db'}"
    rng = random.Random(1)
    banked = random_hashes(rng, args.size)
    # a built SQLite store is kept under bench/out/ (git-ignored) and copied for each run:
    # importing a million hashes takes about 90 s
    cached = REPO / "bench" / "out" / f"service-store-{args.size}"
    reuse = args.database_url is None and not args.fresh and (cached / "token").exists()
    if reuse:
        shutil.copytree(cached / "home", home)
    t0 = time.perf_counter()
    with Safeguard.open(home=home, database_url=url, actor="bench") as sg:
        if reuse:
            token = (cached / "token").read_text().strip()
        else:
            sg.banks.create("bench")
            records = [HashRecord({"pdq": h}) for h in banked]
            sg.banks.import_records("bench", records, source="bench")
            token = KeyService(sg.db, "bench").create("bench", ["match"], rate_limit=10**9).token
        load_s = time.perf_counter() - t0
        queries = [
            near(rng, rng.choice(banked), rng.randint(0, 15)) for _ in range(args.queries // 2)
        ]
        queries += random_hashes(rng, args.queries - len(queries))
        rng.shuffle(queries)
        # baseline: the lookup itself, in-process, one thread, no change-log polls (as
        # in a server, where a background thread polls)
        sg.matcher.refresh()
        sg.matcher.auto_refresh = False
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < min(10.0, args.seconds):
            sg.matcher.lookup({"pdq": queries[n % len(queries)]})
            n += 1
        in_process = n / (time.perf_counter() - start)
    del banked
    if args.database_url is None and not reuse:
        shutil.rmtree(cached, ignore_errors=True)
        shutil.copytree(home, cached / "home")
        (cached / "token").write_text(token)

    port = free_port()
    env = {**os.environ, "SAFEGUARD_HOME": str(home), "SAFEGUARD_DATABASE_URL": url}
    server = subprocess.Popen(
        [SAFEGUARD, "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        t1 = time.perf_counter()
        spec_ready = {
            "host": "127.0.0.1",
            "port": port,
            "paths": ["/status"],
            "token": "",
            "clients": 1,
            "seconds": 1,
        }
        while True:
            if server.poll() is not None:
                raise SystemExit("server exited while starting")
            try:
                r = drive({**spec_ready, "clients": args.workers * 4}, tmp)
                if r["requests"] and not r["errors"]:
                    break
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.5)
        ready_s = time.perf_counter() - t1
        base = {"host": "127.0.0.1", "port": port, "token": token, "clients": args.clients}
        paths = [f"/v1/match?pdq={q}" for q in queries]
        drive({**base, "paths": paths, "seconds": 3}, tmp)  # warm up
        health = drive(
            {**base, "paths": ["/livez"], "token": "", "seconds": min(10, args.seconds)}, tmp
        )
        rss_start = rss_mb(server.pid)
        lookups = drive({**base, "paths": paths, "seconds": args.seconds}, tmp)
        soak = None
        rss_samples = [rss_start]
        if args.soak:
            spec = {**base, "paths": paths, "seconds": args.soak}
            path = tmp / "soak.json"
            path.write_text(json.dumps(spec))
            proc = subprocess.Popen(
                [sys.executable, __file__, "--drive", str(path)], stdout=subprocess.PIPE, text=True
            )
            while proc.poll() is None:
                time.sleep(min(10, args.soak / 20))
                rss_samples.append(rss_mb(server.pid))
            soak = json.loads(proc.stdout.read())  # type: ignore[union-attr]
        rss_end = rss_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)  # a copy of the store: hundreds of MB

    result = {
        "size": args.size,
        "workers": args.workers,
        "clients": args.clients,
        "backend": url.split(":")[0],
        "lookups_per_s": lookups["per_s"],
        "p50_ms": lookups["p50_ms"],
        "p99_ms": lookups["p99_ms"],
        "errors": lookups["errors"] + (soak["errors"] if soak else 0),
        "rss_mb_start": rss_start,
        "rss_mb_end": rss_end,
        "rss_mb_max": max(rss_samples + [rss_end]),
        "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 1),
        "soak_s": args.soak,
        "soak": soak,
        "load_s": round(load_s, 1),
        "store_cached": reuse,
        "index_ready_s": round(ready_s, 1),
        "baseline_health_per_s": health["per_s"],
        "baseline_in_process_per_s": round(in_process, 1),
        "ratio_vs_health": round(lookups["per_s"] / health["per_s"], 3),
        "ratio_vs_in_process": round(lookups["per_s"] / in_process, 3),
    }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
