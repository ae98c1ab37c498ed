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

With `--join` (PostgreSQL, `--database-url`) it measures a server joining a running
deployment instead (issue #14): in its own schema it banks `--size` hashes, then
  library  times `Matcher` built from the store ("cold") against `Matcher` started from an
           index snapshot plus the catch-up of changes committed after it, and the longest
           lookup stall while the snapshot is written;
  server   starts a first `safeguard serve` with SAFEGUARD_SNAPSHOT_DIR and keeps it under
           load, then times a second server until `/readyz` says 200, started cold and
           started with the snapshot directory; all three must answer a query set alike.

    python bench/service.py --join --size 1000000 \
        --database-url postgresql://postgres@127.0.0.1:5432/test --json

With `--recording-rounds N` (SQLite) it measures what recording matches costs (issue #14):
two servers on two copies of the store, one with SAFEGUARD_RECORD_MATCHES=1 and one with 0,
driven in turn for `--seconds` each, N rounds (on-off, off-on, ...), with `GET /livez` after
each round; it prints every round and the medians, and each round's ratio on/off (lookups/s
and the server's CPU per request), which a change in the machine's speed between rounds
does not move.

    python bench/service.py --size 1000000 --seconds 8 --recording-rounds 8 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    host: str,
    port: int,
    paths: list[str],
    token: str,
    clients: int,
    seconds: float,
    bodies: list[str] | None = None,
) -> dict:
    """GET each of `paths` in turn; with `bodies`, POST each JSON body to `paths[0]`."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = f"Host: {host}:{port}\r\n{auth}"
    if bodies is None:
        requests = [f"GET {p} HTTP/1.1\r\n{head}\r\n".encode() for p in paths]
    else:
        requests = [
            f"POST {paths[0]} HTTP/1.1\r\n{head}Content-Type: application/json\r\n"
            f"Content-Length: {len(b.encode())}\r\n\r\n{b}".encode()
            for b in bodies
        ]
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
            spec.get("bodies"),
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


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (those still running)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except FileNotFoundError:
            continue
        found.append(p)
    return found


def _proc_text(pid: int, name: str) -> str:
    try:
        with open(f"/proc/{pid}/{name}") as fh:
            return fh.read()
    except FileNotFoundError:  # it ended meanwhile
        return ""


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    total = 0
    for p in _tree(pid):
        for line in _proc_text(p, "status").splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants."""
    ticks = 0
    for p in _tree(pid):
        stat = _proc_text(p, "stat")
        if stat:
            fields = stat.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


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
    ap.add_argument("--join", action="store_true", help="time a server joining (see above)")
    ap.add_argument("--schema", help="--join: keep the store in this schema and reuse it")
    ap.add_argument(
        "--recording-rounds",
        type=int,
        default=0,
        help="compare match recording on and off on two servers, this many rounds (see above)",
    )
    args = ap.parse_args()
    if args.drive:
        driver_main(args)
        return
    if args.join:
        join_main(args)
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
    if args.recording_rounds:
        if args.database_url is not None:
            raise SystemExit("error: --recording-rounds runs on the SQLite store only")
        try:
            compare_recording(args, home, token, queries, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return

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
        cpu_start = cpu_s(server.pid)
        lookups = drive({**base, "paths": paths, "seconds": args.seconds}, tmp)
        # the server's own CPU per request: steadier than throughput on a shared machine
        server_cpu_us = 1e6 * (cpu_s(server.pid) - cpu_start) / max(1, lookups["requests"])
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
        "server_cpu_us_per_request": round(server_cpu_us, 1),
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


# -- match recording on against off (--recording-rounds) ------------------------------------


def compare_recording(
    args: argparse.Namespace, home: Path, token: str, queries: list[str], tmp: Path
) -> None:
    """Two servers on two copies of the store, one recording matches and one not, driven in
    turn for `--seconds` each, `--recording-rounds` times (on-off, then off-on, ...), so a
    change in the machine's speed falls on both alike. Prints each round and the medians,
    with the ratio on/off of each round."""
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    try:
        for setting, flag in (("on", "1"), ("off", "0")):
            copy = tmp / f"home-{setting}"
            shutil.copytree(home, copy)
            env = {
                **os.environ,
                "SAFEGUARD_HOME": str(copy),
                "SAFEGUARD_DATABASE_URL": f"sqlite:///{copy / 'safeguard.db'}",
                "SAFEGUARD_RECORD_MATCHES": flag,
            }
            proc, port, _ = _start_server(env, args.workers, tmp / f"{setting}.log")
            servers[setting] = (proc, port)
        paths = [f"/v1/match?pdq={q}" for q in queries]

        def phase(setting: str, seconds: float, health: bool = False) -> dict:
            proc, port = servers[setting]
            spec = {
                "host": "127.0.0.1",
                "port": port,
                "token": "" if health else token,
                "clients": args.clients,
                "paths": ["/livez"] if health else paths,
                "seconds": seconds,
            }
            cpu0 = cpu_s(proc.pid)
            out = drive(spec, tmp)
            out["cpu_us"] = 1e6 * (cpu_s(proc.pid) - cpu0) / max(1, out["requests"])
            return out

        for setting in servers:
            phase(setting, 3)  # warm up
        rounds = []
        for n in range(args.recording_rounds):
            order = ("on", "off") if n % 2 == 0 else ("off", "on")
            got = {s: phase(s, args.seconds) for s in order}
            health = phase(order[1], min(5.0, args.seconds), health=True)["per_s"]
            row: dict[str, object] = {"order": "-".join(order), "livez_per_s": health}
            for s in ("on", "off"):
                row[f"{s}_lookups_per_s"] = got[s]["per_s"]
                row[f"{s}_cpu_us_per_request"] = round(got[s]["cpu_us"], 1)
                row[f"{s}_p99_ms"] = got[s]["p99_ms"]
                row[f"{s}_errors"] = got[s]["errors"]
                row[f"{s}_ratio_vs_health"] = round(got[s]["per_s"] / health, 3)
            row["on_vs_off_lookups"] = round(got["on"]["per_s"] / got["off"]["per_s"], 3)
            row["on_vs_off_cpu"] = round(got["on"]["cpu_us"] / got["off"]["cpu_us"], 3)
            rounds.append(row)
    finally:
        for proc, _ in servers.values():
            _stop(proc)

    def med(key: str) -> float:
        return round(statistics.median(float(r[key]) for r in rounds), 3)  # type: ignore[arg-type]

    keys = [k for k in rounds[0] if k != "order"]
    result = {
        "size": args.size,
        "workers": args.workers,
        "clients": args.clients,
        "seconds_per_phase": args.seconds,
        "rounds": len(rounds),
        **{f"median_{k}": med(k) for k in keys},
        "per_round": rounds,
    }
    print(json.dumps(result, indent=None if args.json else 2))


# -- a server joining a running deployment (--join) -----------------------------------------


def _http(port: int, path: str, token: str = "") -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def _start_server(env: dict, workers: int, log: Path) -> tuple[subprocess.Popen, int, float]:
    """Start `safeguard serve`; returns it, its port and the seconds until /readyz is 200."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [SAFEGUARD, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),  # noqa: SIM115 - the child keeps it
        start_new_session=True,
    )
    while _http(port, "/readyz")[0] != 200:
        if proc.poll() is not None:
            raise SystemExit(f"server exited while starting: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    return proc, port, time.perf_counter() - t0


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)


def _server_answers(port: int, token: str, queries: list[str]) -> list:
    out = []
    for q in queries:
        status, body = _http(port, f"/v1/match?pdq={q}", token)
        out.append([status, json.loads(body) if status == 200 else None])
    return out


def _index_source(port: int, token: str) -> str | None:
    """Where a server's index came from ("store" or "snapshot"), from /v1/index/status."""
    status, body = _http(port, "/v1/index/status", token)
    return json.loads(body).get("source") if status == 200 else None


def _join_store(args: argparse.Namespace, url: str) -> tuple[str, str, bool]:
    """The store's URL (its own schema), the key's token, and whether it was reused."""
    from sqlalchemy import create_engine, text

    from safeguard import Safeguard
    from safeguard.access import KeyService
    from safeguard.banks import HashRecord

    schema = args.schema or f"bench_join_{os.getpid()}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        reuse = bool(
            args.schema
            and conn.execute(
                text(
                    "select 1 from information_schema.tables where table_schema = :s "
                    "and table_name = 'banks'"
                ),
                {"s": schema},
            ).first()
        )
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in url else "?"
    store = f"{url}{sep}options=-csearch_path%3D{schema}"
    with Safeguard.open(database_url=store, actor="bench") as sg:
        if reuse and sg.banks.get("bench").content_count >= args.size:
            token = (
                KeyService(sg.db, "bench")
                .create(f"join-{os.getpid()}", ["match"], rate_limit=10**9)
                .token
            )
            return store, token, True
        rng = random.Random(1)
        sg.banks.create("bench")
        for start in range(0, args.size, 100_000):
            n = min(100_000, args.size - start)
            records = [HashRecord({"pdq": h}) for h in random_hashes(rng, n)]
            sg.banks.import_records("bench", records, source="bench")
        token = (
            KeyService(sg.db, "bench")
            .create(f"join-{os.getpid()}", ["match"], rate_limit=10**9)
            .token
        )
    return store, token, False


def _drop_schema(url: str, store: str) -> None:
    from sqlalchemy import create_engine, text

    schema = store.rsplit("%3D", 1)[1]
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _banked_sample(store: str, n: int) -> list[str]:
    from sqlalchemy import text

    from safeguard import Safeguard

    with Safeguard.open(database_url=store, actor="bench") as sg, sg.db.transaction() as s:
        return list(
            s.scalars(
                text("select signal_value from content_signals order by id limit :n"), {"n": n}
            )
        )


def _change_after_snapshot(store: str, rng: random.Random) -> None:
    """Changes the joiner must catch up on: an import of 1,000 hashes, 100 removals."""
    from safeguard import Safeguard
    from safeguard.banks import HashRecord

    with Safeguard.open(database_url=store, actor="bench") as sg:
        sg.banks.import_records(
            "bench", [HashRecord({"pdq": h}) for h in random_hashes(rng, 1000)], source="late"
        )
        for item in sg.banks.content_page("bench", limit=100):
            sg.banks.remove_content("bench", item.id)


def _library_join(store: str, snap: Path, queries: list[dict], rng: random.Random) -> dict:
    import threading

    from safeguard import Safeguard
    from safeguard.matching import Matcher

    with Safeguard.open(database_url=store, actor="bench") as sg:
        t0 = time.perf_counter()
        first = Matcher(sg.db, auto_refresh=False)
        first.refresh()
        cold_s = time.perf_counter() - t0
        # the longest lookup while the snapshot is written (lookups go on in a thread)
        stop, stalls = threading.Event(), [0.0]

        def lookups() -> None:
            i, last = 0, time.perf_counter()
            while not stop.is_set():
                first.lookup(queries[i % len(queries)])
                now = time.perf_counter()
                stalls[0] = max(stalls[0], now - last)
                last, i = now, i + 1

        thread = threading.Thread(target=lookups)
        thread.start()
        time.sleep(0.5)
        stalls[0] = 0.0
        t0 = time.perf_counter()
        written = first.save_snapshot(snap)
        save_s = time.perf_counter() - t0
        stop.set()
        thread.join()
        _change_after_snapshot(store, rng)
        t0 = time.perf_counter()
        joined = Matcher(sg.db, auto_refresh=False, snapshot_dir=snap)
        joined.refresh()
        snap_s = time.perf_counter() - t0
        status = joined.status()
        t0 = time.perf_counter()
        cold = Matcher(sg.db, auto_refresh=False)
        cold.refresh()
        cold_after_s = time.perf_counter() - t0
        same = [r.to_json() for r in joined.lookup_many(queries)] == [
            r.to_json() for r in cold.lookup_many(queries)
        ]
    return {
        "cold_build_s": round(cold_s, 2),
        "cold_build_after_changes_s": round(cold_after_s, 2),
        "snapshot_write_s": round(save_s, 2),
        "snapshot_mb": round(sum(f.stat().st_size for f in written.iterdir()) / 2**20, 1),
        "longest_lookup_stall_during_write_ms": round(stalls[0] * 1000, 1),
        "snapshot_start_s": round(snap_s, 2),
        "snapshot_source": status.source,
        "changes_caught_up": status.changes_applied,
        "ratio": round(snap_s / cold_after_s, 3),
        "same_answers": same,
    }


def join_main(args: argparse.Namespace) -> None:
    if not args.database_url or not args.database_url.startswith("postgresql"):
        raise SystemExit("--join needs --database-url postgresql://...")
    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-join-"))
    snap = tmp / "snapshots"
    rng = random.Random(2)
    t0 = time.perf_counter()
    store, token, reused = _join_store(args, args.database_url)
    load_s = time.perf_counter() - t0
    banked = _banked_sample(store, 5000)
    pdqs = [near(rng, rng.choice(banked), rng.randint(0, 15)) for _ in range(250)]
    pdqs += random_hashes(rng, 250)
    queries = [{"pdq": q} for q in pdqs]
    result: dict = {"size": args.size, "backend": "postgresql", "store_reused": reused}
    result["load_s"] = round(load_s, 1)
    servers: list[subprocess.Popen] = []
    try:
        result["library"] = _library_join(store, snap, queries, rng)
        env = {
            **os.environ,
            "SAFEGUARD_HOME": str(tmp / "home"),
            "SAFEGUARD_DATABASE_URL": store,
            "SAFEGUARD_STARTUP_WAIT": "3600",
        }
        snap_env = {**env, "SAFEGUARD_SNAPSHOT_DIR": str(snap), "SAFEGUARD_SNAPSHOT_INTERVAL": "5"}
        first, port_a, first_s = _start_server(snap_env, args.workers, tmp / "a.log")
        servers.append(first)
        base = {"host": "127.0.0.1", "port": port_a, "token": token, "clients": 2}
        paths = [f"/v1/match?pdq={q}" for q in pdqs]
        load_spec = tmp / "load.json"
        load_spec.write_text(json.dumps({**base, "paths": paths, "seconds": 3600}))
        driver = subprocess.Popen(
            [sys.executable, __file__, "--drive", str(load_spec)], stdout=subprocess.DEVNULL
        )
        servers.append(driver)
        versions_before = {p.name for p in snap.iterdir() if p.name.isdigit()}
        _change_after_snapshot(store, rng)  # the first server's job snapshots this, if wired
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if {p.name for p in snap.iterdir() if p.name.isdigit()} - versions_before:
                break
            time.sleep(0.5)
        written_by_server = bool(
            {p.name for p in snap.iterdir() if p.name.isdigit()} - versions_before
        )
        _change_after_snapshot(store, rng)
        cold, port_b, cold_s = _start_server(env, 1, tmp / "b.log")
        servers.append(cold)
        joined, port_c, join_s = _start_server(snap_env, 1, tmp / "c.log")
        servers.append(joined)
        time.sleep(1.0)  # each follows the log every 0.25 s
        answers = [_server_answers(p, token, pdqs) for p in (port_a, port_b, port_c)]
        result["server"] = {
            "first_ready_s": round(first_s, 2),
            "snapshot_written_by_server": written_by_server,
            "cold_ready_s": round(cold_s, 2),
            "snapshot_ready_s": round(join_s, 2),
            "started_from_snapshot": _index_source(port_c, token) == "snapshot",
            "ratio": round(join_s / cold_s, 3),
            "same_answers": answers[0] == answers[1] == answers[2],
            "all_200": all(a[0] == 200 for ans in answers for a in ans),
        }
    finally:
        for proc in reversed(servers):
            if proc.args[1:2] == ["serve"]:
                _stop(proc)
            else:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.schema:
            _drop_schema(args.database_url, store)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
