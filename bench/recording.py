"""What recording matches costs (issue #14): lookups with and without `MatchRecorder`, and
change-feed polls when the log is mostly match records. Prints one JSON object.

lookups   `Matcher.lookup` in one thread over `--queries` PDQ queries (half are banked
          hashes with 0-15 bits flipped, so they match; half are fresh random hashes),
          against a bank of `--size` random hashes; rounds alternate "off" (lookup only)
          and "on" (lookup, then `MatchRecorder.record` of its result); the "on" time
          includes the final `flush()`, so every record is written inside it. The
          recorder's thread shares the process (and the GIL) with the lookups. Both wall
          time and the process's CPU time (all its threads) are reported: on a shared
          machine the CPU time is the steadier measure of what recording costs.
feed      with `--log-rows` match records in the change log: a poll of an idle feed, a
          poll that finds 1,000 new match records (as the matcher's feed does today; with
          `skip=("match.",)`; as a `Subscription` to match records), and `Matcher.refresh`
          over 1,000 new match records.

    python bench/recording.py --size 100000 --queries 20000 --log-rows 1000000
    python bench/recording.py --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text


def random_hashes(rng: random.Random, n: int) -> list[str]:
    return [f"{rng.getrandbits(256):064x}" for _ in range(n)]


def near(rng: random.Random, h: str, bits: int) -> str:
    v = int(h, 16)
    for b in rng.sample(range(256), bits):
        v ^= 1 << b
    return f"{v:064x}"


def bench_lookups(sg, queries: list[str], rounds: int) -> dict:  # type: ignore[no-untyped-def]
    from safeguard.events import MatchRecorder

    m = sg.matcher
    m.refresh()
    m.auto_refresh = False  # as in a server: a background thread follows the log
    rec = MatchRecorder(sg.db)
    matched = sum(m.lookup({"pdq": q}).matched for q in queries)  # warm-up
    times: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(rounds):
        for mode in ("off", "on"):
            c0 = time.process_time()
            t0 = time.perf_counter()
            if mode == "off":
                for q in queries:
                    m.lookup({"pdq": q})
            else:
                for q in queries:
                    rec.record(m.lookup({"pdq": q}), "key:bench", source="bench")
                rec.flush()
            times[mode].append(time.perf_counter() - t0)
            cpu[mode].append(time.process_time() - c0)
    rec.close()
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    return {
        "queries": len(queries),
        "matched": matched,
        "rounds": rounds,
        "off_us_per_lookup": round(1e6 * off / len(queries), 1),
        "on_us_per_lookup": round(1e6 * on / len(queries), 1),
        "off_lookups_per_s": round(len(queries) / off),
        "on_lookups_per_s": round(len(queries) / on),
        "cost_pct": round(100 * (on - off) / off, 1),
        "off_cpu_us_per_lookup": round(1e6 * cpu_off / len(queries), 1),
        "on_cpu_us_per_lookup": round(1e6 * cpu_on / len(queries), 1),
        "cost_pct_cpu": round(100 * (cpu_on - cpu_off) / cpu_off, 1),
        "records_written": rec.written,
        "records_dropped": rec.dropped + rec.failed,
        "rounds_s": {k: [round(t, 3) for t in v] for k, v in times.items()},
    }


def _median_ms(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(out), 3)


def bench_feed(sg, log_rows: int, hashes: list[str]) -> dict:  # type: ignore[no-untyped-def]
    from safeguard.events import MATCH_RECORDED, MatchRecorder, Subscription
    from safeguard.matching import Matcher
    from safeguard.matching.feed import ChangeFeed

    hit = sg.matcher.lookup({"pdq": hashes[0]})
    assert hit.matched
    t0 = time.perf_counter()
    rec = MatchRecorder(sg.db, interval=3600, batch_size=5000, max_pending=log_rows + 1)
    for _ in range(log_rows):
        rec.record(hit, "key:bench", source="bench")
    rec.flush()
    fill_s = time.perf_counter() - t0
    matcher = Matcher(sg.db, auto_refresh=False)
    matcher.refresh()

    def new_rows(n: int = 1000) -> None:
        for _ in range(n):
            rec.record(hit, "key:bench", source="bench")
        rec.flush()

    feeds = {
        "all_rows": ChangeFeed(sg.db),  # what the matcher's feed does today
        "skip_match": ChangeFeed(sg.db, skip=("match.",)),
        "only_match": ChangeFeed(sg.db, actions=[MATCH_RECORDED]),
    }
    for f in feeds.values():
        f.reset_to_head()
    out: dict = {"log_rows": log_rows, "fill_s": round(fill_s, 1)}
    out["idle_poll_ms"] = {k: _median_ms(f.poll, 200) for k, f in feeds.items()}
    new_rows()
    polls = {}
    for k, f in feeds.items():
        state = f.state()

        def again(f=f, state=state) -> None:  # type: ignore[no-untyped-def]
            f.resume(*state)
            assert f.poll().scanned == 1000

        polls[k] = _median_ms(again, 20)
    out["poll_1000_new_ms"] = polls
    sub = Subscription(sg.db, f"bench-{uuid.uuid4().hex[:6]}", [MATCH_RECORDED], start="newest")
    matcher.refresh()
    refresh = []
    subs = []
    for _ in range(5):
        new_rows()
        t0 = time.perf_counter()
        n = matcher.refresh()
        refresh.append(time.perf_counter() - t0)
        assert n == 0  # match records are skipped by the matcher's feed, unread
        t0 = time.perf_counter()
        b = sub.poll(1000)
        sub.ack(b)
        subs.append(time.perf_counter() - t0)
        assert len(b.rows) == 1000
    out["matcher_refresh_1000_new_ms"] = round(1000 * statistics.median(refresh), 2)
    out["subscription_poll_ack_1000_ms"] = round(1000 * statistics.median(subs), 2)
    rec.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=100_000, help="banked PDQ hashes")
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5, help="off/on rounds, alternating")
    ap.add_argument("--log-rows", type=int, default=1_000_000, help="0: skip the feed part")
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = ap.parse_args()

    from safeguard import Safeguard
    from safeguard.banks import HashRecord

    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-recording-"))
    url = args.database_url or f"sqlite:///{tmp / 'safeguard.db'}"
    schema = None
    if url.startswith("postgres"):  # a schema of its own, dropped at the end
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    rng = random.Random(1)
    banked = random_hashes(rng, args.size)
    queries = [near(rng, rng.choice(banked), rng.randint(0, 15)) for _ in range(args.queries // 2)]
    queries += random_hashes(rng, args.queries - len(queries))
    rng.shuffle(queries)
    try:
        with Safeguard.open(home=tmp / "home", database_url=url, actor="bench") as sg:
            t0 = time.perf_counter()
            sg.banks.create("bench")
            sg.banks.import_records("bench", [HashRecord({"pdq": h}) for h in banked], source="b")
            result = {
                "backend": url.split(":")[0],
                "size": args.size,
                "load_s": round(time.perf_counter() - t0, 1),
                "lookups": bench_lookups(sg, queries, args.rounds),
            }
            if args.log_rows:
                result["feed"] = bench_feed(sg, args.log_rows, banked)
    finally:
        if schema is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
