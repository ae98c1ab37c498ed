"""CPU per request of a verdict against a lookup, in one process with no sockets (issue #15).

`bench/events.py` measures the goal itself (throughput over HTTP, 2 workers, a load driver on
the same machine); on a shared 2-core machine its lookups phase alone varies by half from
round to round, which hides changes of a tenth on the verdict path. This drives the same
ASGI app in-process, the same requests as bench/events.py (`GET /v1/match?pdq=...`, and
`POST /v1/events` with one upload event of precomputed hashes, half of them matching), with
`--clients` requests in flight on one event loop, and reports the process's CPU per request
in each phase (alternating rounds, medians) and their ratio. Not the goal's measure: a guide
for A/B work on the verdict path (the HTTP server's parsing and the driver are left out).

    python bench/events_cpu.py --size 1000000 --json
    py-spy record --gil -o verdicts.svg -- python bench/events_cpu.py --phase verdicts

Uses bench/events.py's store (`bench/out/service-store-SIZE`, built on first use).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from events import events_and_queries, sqlite_store  # noqa: E402  (the sibling benchmark)


async def _request(app: object, method: str, path: str, token: str, body: bytes) -> int:
    """One request through the ASGI app; its status."""
    target, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # a disconnect never comes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)  # type: ignore[operator]
    return status


async def _phase(
    app: object, requests: list[tuple[str, str, str, bytes]], clients: int, seconds: float
) -> dict:
    """Requests cycled by `clients` tasks for `seconds`: count, errors, CPU per request."""
    done = errors = 0
    stop = time.monotonic() + seconds

    async def client(n: int) -> None:
        nonlocal done, errors
        i = n
        while time.monotonic() < stop:
            status = await _request(app, *requests[i % len(requests)])
            i += clients
            done += 1
            errors += status != 200

    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    return {
        "requests": done,
        "errors": errors,
        "per_s": round(done / wall, 1),
        "cpu_us_per_request": round(1e6 * cpu / max(1, done), 1),
    }


async def _run(args: argparse.Namespace, tmp: Path) -> dict:
    home, url, lookup_token = sqlite_store(args.size, tmp)
    events_token, queries, bodies = events_and_queries(home, url, args.queries, args.match_share)
    os.environ.update(SAFEGUARD_HOME=str(home), SAFEGUARD_DATABASE_URL=url)
    from safeguard.api.app import create_app

    lookups = [("GET", f"/v1/match?pdq={q}", lookup_token, b"") for q in queries]
    verdicts = [("POST", "/v1/events", events_token, b.encode()) for b in bodies]
    phases = {"lookups": lookups, "verdicts": verdicts}
    wanted = ["lookups", "verdicts"] if args.phase == "both" else [args.phase]
    app = create_app()
    rounds = []
    async with app.router.lifespan_context(app):
        for name in wanted:  # warm up: caches, the index's pages
            await _phase(app, phases[name], args.clients, args.warmup)
        for _ in range(args.rounds):
            rounds.append(
                {
                    name: await _phase(app, phases[name], args.clients, args.seconds)
                    for name in wanted
                }
            )
    result: dict[str, object] = {
        "size": args.size,
        "clients": args.clients,
        "match_share": args.match_share,
        "rounds": len(rounds),
        "seconds_per_phase": args.seconds,
    }
    medians = {
        name: statistics.median(r[name]["cpu_us_per_request"] for r in rounds) for name in wanted
    }
    for name in wanted:
        result[f"median_cpu_us_per_{name[:-1]}"] = medians[name]
        result[f"{name}_errors"] = sum(r[name]["errors"] for r in rounds)
    if len(wanted) == 2:  # what the throughput ratio would be if CPU alone decided it
        result["cpu_ratio_lookup_vs_verdict"] = round(medians["lookups"] / medians["verdicts"], 3)
    result["per_round"] = rounds
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=5, help="per phase and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=10, help="seconds of each phase first")
    ap.add_argument("--clients", type=int, default=8, help="requests in flight")
    ap.add_argument("--queries", type=int, default=20_000, help="distinct queries cycled")
    ap.add_argument("--match-share", type=float, default=0.5)
    ap.add_argument("--phase", choices=["both", "lookups", "verdicts"], default="both")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-events-cpu-"))
    try:
        result = asyncio.run(_run(args, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
