"""Benchmark: end-to-end file hashing throughput, safeguard vs python-threatexchange.

Measures files on disk -> hashes, for the same image files in the same run:

- `baseline`: python-threatexchange's public PDQ hasher, `PdqSignal.hash_from_file`, one
  process. It computes PDQ only.
- `ours_1`: `safeguard.signals.files.hash_file` in a loop, one process. It computes PDQ, MD5
  and SHA-256 (reads each file once), so it does more work than the baseline.
- `ours_all`: `safeguard.signals.files.hash_paths` with one worker process per CPU (process
  pool start-up included in the time).

Files are read once first so the page cache is warm for everyone; then each round times one
full pass of each, alternating the order round by round. Reports median/min/max files/s and
MB/s, the ratios ours/baseline of the medians, and checks that every PDQ hash agrees bit for
bit with threatexchange's. Prints one JSON object to stdout.

    python bench/hashing.py [--images DIR] [--rounds N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes
from threatexchange.signal_type.pdq.signal import PdqSignal

from safeguard.config import Settings
from safeguard.signals.files import hash_file, hash_paths

DEFAULT_IMAGES = Path(__file__).resolve().parents[1].parent / "shared/datasets/images/coco"


def find_images(root: Path) -> list[Path]:
    return sorted(p for pattern in ("*.jpg", "*.png") for p in root.rglob(pattern))


def summarize(times: list[float], files: int, nbytes: int) -> dict[str, float]:
    med = statistics.median(times)
    return {
        "files_per_s": round(files / med, 2),
        "files_per_s_min": round(files / max(times), 2),
        "files_per_s_max": round(files / min(times), 2),
        "mb_per_s": round(nbytes / med / 1e6, 2),
        "seconds_median": round(med, 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="directory of images")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    ap.add_argument("--quick", action="store_true", help="one round, for a smoke run")
    ap.add_argument("--json", action="store_true", help="accepted; output is always JSON")
    args = ap.parse_args()
    rounds = 1 if args.quick else max(1, args.rounds)

    paths = find_images(args.images)
    if not paths:
        raise SystemExit(f"no *.jpg or *.png files under {args.images}")
    names = [str(p) for p in paths]
    cpus = os.cpu_count() or 1
    settings = Settings.from_env()

    # Warm-up: read every file once (page cache), and check our PDQ against threatexchange's
    # full hex and quality (pdq_from_bytes is what PdqSignal.hash_from_file calls, before it
    # blanks hashes of quality < 50).
    nbytes, agree, quality_agree, errors, baseline_empty = 0, 0, 0, 0, 0
    for p in paths:
        data = p.read_bytes()
        nbytes += len(data)
        ref_hex, ref_quality = pdq_from_bytes(data)
        ours = hash_file(p)
        errors += not ours.ok
        agree += ours.pdq == ref_hex
        quality_agree += ours.pdq_quality == ref_quality
        baseline_empty += PdqSignal.hash_from_file(p) == ""

    def baseline() -> None:
        for p in paths:
            PdqSignal.hash_from_file(p)

    def ours_1() -> None:
        for name in names:
            hash_file(name)

    def ours_all() -> None:
        for _ in hash_paths(names, settings, workers=cpus):
            pass

    runs: dict[str, Callable[[], None]] = {
        "ours_1": ours_1,
        "ours_all": ours_all,
        "baseline": baseline,
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for key in order:
            t0 = time.perf_counter()
            runs[key]()
            times[key].append(time.perf_counter() - t0)

    results = {k: summarize(v, len(paths), nbytes) for k, v in times.items()}
    base_fps = results["baseline"]["files_per_s"]
    out = {
        "benchmark": "hashing",
        "images": str(args.images),
        "files": len(paths),
        "bytes": nbytes,
        "rounds": rounds,
        "cpu_count": cpus,
        "baseline_name": "threatexchange PdqSignal.hash_from_file (PDQ only, 1 process)",
        "ours_name": "safeguard hash_file / hash_paths (PDQ + MD5 + SHA-256)",
        "note": "ours computes PDQ + MD5 + SHA-256 per file; the baseline computes PDQ only",
        "baseline": results["baseline"],
        "ours_1": results["ours_1"],
        "ours_all": results["ours_all"],
        "ratio_single": round(results["ours_1"]["files_per_s"] / base_fps, 3),
        "ratio_all": round(results["ours_all"]["files_per_s"] / base_fps, 3),
        "pdq_agree": agree,
        "pdq_quality_agree": quality_agree,
        "baseline_empty": baseline_empty,
        "errors": errors,
        "python": platform.python_version(),
        "pillow": version("pillow"),
        "numpy": version("numpy"),
        "pdqhash": version("pdqhash"),
        "threatexchange": version("threatexchange"),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
