"""Web UI benchmark (issue #17): the review queue's first screen with 10,000 open cases, and
the dashboard over 100,000 events, as a logged-in reviewer's browser asks for them.

Builds a store through the library (SQLite in a temporary directory by default, or
`--database-url` for PostgreSQL: give it an empty schema), with `--cases` open cases and
`--events` events in all, spread over the last 14 days:
  reports       one per account on `--cases` - `--matched` accounts: each opens a case
                (rule `user-report`, not a child-safety case)
  uploads       `--matched` uploads whose PDQ hash is in the bank "known": each is held and
                opens a child-safety case holding a match in that bank (the bank filter's
                cases)
  flags         pathways flags on other accounts for the rest of `--events`: allowed, held
                (score >= 0.8) or blocked (>= 0.95), no case
On PostgreSQL it then runs ANALYZE, as autovacuum would after such a load (without
statistics the planner guesses 7 open cases and the bank filter loops over case items for
each: 260-370 ms). Then it starts `safeguard serve`, logs in through the form as an admin
(who sees every case) and times, over one keep-alive connection, `--requests` requests of
each page after `--warmup` more:
  baseline      GET /livez: the cheapest route (no session, no database): the HTTP stack
  queue         GET /ui/queue: the first screen (the first page of 50, by priority and age)
  queue_bank    GET /ui/queue?bank=known: the queue filtered by bank
  queue_last    GET /ui/queue?page_no=N: the last page (the deepest OFFSET)
  dashboard     GET /ui/: the dashboard's figures (safeguard.review.overview)

It prints JSON: per page the client's median and 95th percentile in ms, the page's size,
`server_ms`: the client's median minus the baseline's (the server has no Server-Timing
header; on loopback the rest of a request's time is the HTTP stack, which the baseline
measures), and `server_cpu_ms`: the server process's CPU time per request over the timed
requests (from /proc: every thread, so it includes the event loop's share).

Goal (issue #17): the queue's first screen under 300 ms on the server with 10,000 open cases.

    python bench/ui_queue.py --json
    python bench/ui_queue.py --json \\
        --database-url "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench_ui"
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).parent))
from service import (  # noqa: E402  (the sibling benchmark: process helpers)
    _start_server,
    _stop,
    cpu_s,
    random_hashes,
)

USER = "bench-admin"
PASSWORD = "a bench password that is long enough"
DAYS = 14
BATCH = 500

RULES = """\
rules:
  - name: known-image
    description: A match in a bank holds the upload and opens a child-safety case
    when:
      kind: upload
      match: {}
    then:
      verdict: hold
      case: {priority: 2, child_safety: true}
  - name: user-report
    description: A user report opens a case a moderator may see
    when:
      kind: report
    then:
      case: {priority: 1, child_safety: false}
  - name: pathways-hold
    description: A high pathways score holds
    when:
      kind: pathways_flag
      pathways: {min_score: 0.8}
    then:
      verdict: hold
  - name: pathways-block
    description: A very high pathways score blocks
    when:
      kind: pathways_flag
      pathways: {min_score: 0.95}
    then:
      verdict: block
"""


def build(url: str, home: Path, cases: int, matched: int, events: int, seed: int) -> dict:
    """The store: a user, the bank, the rules, then the events through `submit_many`, in
    batches stamped with times spread over the last DAYS days (oldest first)."""
    from sqlalchemy import func, select

    from safeguard import Safeguard
    from safeguard.access.logins import LoginService
    from safeguard.access.people import Actor, UserService
    from safeguard.act.inputs import EventInput
    from safeguard.banks import HashRecord
    from safeguard.rules import RuleStore
    from safeguard.store.models import utcnow
    from safeguard.store.review_tables import Case, Event

    rng = random.Random(seed)
    t0 = time.perf_counter()
    with Safeguard.open(home=home, database_url=url, actor="bench") as sg:
        operator = Actor.operator("cli:bench")
        with sg.db.transaction() as s:
            if s.scalar(select(func.count()).select_from(Event)):
                raise SystemExit("the store already holds events: give an empty one")
        UserService(sg.db, operator).create(USER, ["admin"])
        LoginService(sg.db, operator).set_password(USER, PASSWORD)
        banked = random_hashes(rng, matched)
        sg.create_bank("known")
        sg.banks.import_records("known", [HashRecord({"pdq": h}) for h in banked], source="bench")
        RuleStore(sg.db, operator).apply(RULES, "bench/ui_queue.py")

        todo: list[EventInput] = [
            EventInput(kind="upload", account_id=f"upload-{i}", hashes={"pdq": h})
            for i, h in enumerate(banked)
        ]
        todo += [
            EventInput(kind="report", account_id=f"reported-{i}", reporter="u1", reason="spam")
            for i in range(cases - matched)
        ]
        for i in range(max(0, events - len(todo))):
            score = rng.choice((0.3, 0.5, 0.6, 0.7, 0.85, 0.9, 0.97))
            todo.append(
                EventInput(
                    kind="pathways_flag",
                    account_id=f"flagged-{i}",
                    score=score,
                    reasons=("NEW_ACCOUNT",),
                )
            )
        rng.shuffle(todo)
        service = sg.events_for(operator)
        start = utcnow() - timedelta(days=DAYS)
        step = timedelta(days=DAYS) / max(1, -(-len(todo) // BATCH))
        for n, i in enumerate(range(0, len(todo), BATCH)):
            at = start + step * n
            service.submit_many(todo[i : i + BATCH], now=lambda at=at: at)
        if sg.db.engine.dialect.name == "postgresql":
            # statistics for the planner, as autovacuum gathers them after a bulk change: just
            # after the load it would guess 7 open cases and loop over case items for each
            with sg.db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        with sg.db.transaction() as s:
            stored = {
                "events": s.scalar(select(func.count()).select_from(Event)),
                "open_cases": s.scalar(
                    select(func.count()).where(Case.state.in_(("open", "in_review")))
                ),
            }
    return {**stored, "build_s": round(time.perf_counter() - t0, 1)}


class Browser:
    """One keep-alive connection with a logged-in session, as a browser keeps it."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        for name, value in r.getheaders():
            if name.lower() == "set-cookie" and value.startswith("sg_session="):
                self.cookie = value.split(";", 1)[0]
        return r.status, data

    def log_in(self) -> None:
        form = urlencode({"name": USER, "password": PASSWORD, "next": "/ui/"})
        status, body = self.request("POST", "/ui/login", form)
        if status != 303 or not self.cookie:
            raise SystemExit(f"login failed: {status} {body[:300]!r}")

    def time(self, path: str, n: int, warmup: int, pid: int) -> dict:
        for _ in range(warmup):
            self._get(path)
        took = []
        size = 0
        c0 = cpu_s(pid)
        for _ in range(n):
            t = time.perf_counter()
            size = len(self._get(path))
            took.append((time.perf_counter() - t) * 1000)
        cpu = cpu_s(pid) - c0
        return {
            "path": path,
            "median_ms": round(statistics.median(took), 2),
            "p95_ms": round(statistics.quantiles(took, n=20, method="inclusive")[18], 2),
            "max_ms": round(max(took), 2),
            "bytes": size,
            "server_cpu_ms": round(1000 * cpu / n, 2),
        }

    def _get(self, path: str) -> bytes:
        status, body = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
        return body


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", type=int, default=10_000, help="open cases")
    ap.add_argument("--matched", type=int, default=500, help="of which hold a bank match")
    ap.add_argument("--events", type=int, default=100_000, help="events in all")
    ap.add_argument("--requests", type=int, default=50, help="timed requests per page")
    ap.add_argument("--warmup", type=int, default=5, help="untimed requests per page first")
    ap.add_argument("--database-url", help="PostgreSQL: an empty schema to build the store in")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-ui-"))
    home = tmp / "home"
    home.mkdir()
    url = args.database_url or f"sqlite:///{home / 'safeguard.db'}"
    try:
        store = build(url, home, args.cases, args.matched, args.events, args.seed)
        env = {
            **os.environ,
            "SAFEGUARD_HOME": str(home),
            "SAFEGUARD_DATABASE_URL": url,
            "SAFEGUARD_ACTOR": "bench",
        }
        server, port, _ = _start_server(env, 1, tmp / "server.log")
        try:
            browser = Browser(port)
            browser.log_in()
            last = max(1, -(-args.cases // 50))
            pages = {
                "baseline": "/livez",
                "queue": "/ui/queue",
                "queue_bank": "/ui/queue?bank=known",
                "queue_last": f"/ui/queue?page_no={last}",
                "dashboard": "/ui/",
            }
            timed = {
                name: browser.time(path, args.requests, args.warmup, server.pid)
                for name, path in pages.items()
            }
        finally:
            _stop(server)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    base = timed["baseline"]["median_ms"]
    for name, t in timed.items():
        if name != "baseline":
            t["server_ms"] = round(t["median_ms"] - base, 2)
    result = {
        "backend": url.split(":")[0].split("+")[0],
        **store,
        "requests_per_page": args.requests,
        "pages": timed,
        "goal_queue_server_ms": 300,
        "goal_met": timed["queue"]["server_ms"] < 300,
    }
    if args.keep:
        result["directory"] = str(tmp)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['backend']}: {store['open_cases']:,} open cases, {store['events']:,} events")
    for name, t in timed.items():
        server_ms = f"  server ~{t['server_ms']} ms" if "server_ms" in t else ""
        print(
            f"  {name:<11} {t['path']:<28} median {t['median_ms']:>8} ms  p95 {t['p95_ms']:>8} ms"
            f"  cpu {t['server_cpu_ms']:>7} ms{server_ms}"
        )
    print(f"goal (queue under 300 ms on the server): {'met' if result['goal_met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
