"""Matching a video against many listed videos: the frame index (one PDQ multi-index-hashing
index over every listed frame, votes per video) against comparing with each video in turn
(python-threatexchange's brute-force rule), in the same run. Prints JSON.

Listed videos are synthetic vPDQ values: random PDQ frames (as far apart as unrelated
videos' frames are), `--frames` per video; the query is one listed video's frames, each a
few bits off (a re-encode), repeated to `--query-frames` (a long upload).

    python bench/vpdq_index.py --videos 1000,10000 --frames 60 --query-frames 60,3600
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from safeguard.index.frames import VpdqIndex  # noqa: E402
from safeguard.signals.video import Frame, match_percents, parse, serialize  # noqa: E402


def random_pdq(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def nudged(pdq: str, bits: int, rng: random.Random) -> str:
    value = int(pdq, 16)
    for b in rng.sample(range(256), bits):
        value ^= 1 << b
    return f"{value:064x}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", default="1000,10000")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--query-frames", default="60,3600")
    ap.add_argument("--baseline-max", type=int, default=2000, help="Brute force up to N videos.")
    args = ap.parse_args()
    rng = random.Random(7)
    results = []
    for n in [int(x) for x in args.videos.split(",")]:
        values = [
            serialize([Frame(random_pdq(rng), 100, float(s)) for s in range(args.frames)])
            for _ in range(n)
        ]
        start = time.perf_counter()
        index = VpdqIndex()
        index.add(enumerate(values))
        build = time.perf_counter() - start
        target = parse(values[n // 2])
        for q in [int(x) for x in args.query_frames.split(",")]:
            frames = [
                Frame(nudged(target[i % len(target)].pdq, 6, rng), 100, float(i)) for i in range(q)
            ]
            query = serialize(frames)
            start = time.perf_counter()
            found = index.query(query, 20)
            indexed = time.perf_counter() - start
            row = {
                "listed_videos": n,
                "frames_per_video": args.frames,
                "query_frames": q,
                "index_build_s": round(build, 2),
                "index_query_s": round(indexed, 4),
                "found": found[:3],
            }
            if n <= args.baseline_max:
                start = time.perf_counter()
                brute = [
                    i for i, v in enumerate(values) if match_percents(frames, parse(v))[0] >= 80
                ]
                row["brute_force_s"] = round(time.perf_counter() - start, 3)
                row["brute_found"] = brute
                row["speedup"] = round(row["brute_force_s"] / max(indexed, 1e-9), 1)
            results.append(row)
            print(json.dumps(row), file=sys.stderr)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
