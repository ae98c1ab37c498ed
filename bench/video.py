"""Video throughput (issue #20): vPDQ hashing against Meta's reference hasher on the same
files, one core each, and matching a long video against a bank of listed videos. Prints JSON.

Hashing: test videos are built here (slideshows of panned and zoomed photos, H.264 in MP4,
by default 60 s at 30 fps at 640x360 and 1280x720, each with x264's default B-frames and
without any, as many phones and live encoders write; `--photos DIR` takes photos from a
folder, e.g. ../shared/datasets/images/coco, else synthetic scenes). Each file is hashed by
safeguard (`safeguard.signals.video.hash_video`: PyAV's FFmpeg and the compiled frame
hasher, signals/_pdq.c) and, with
`--reference-python`, by the reference (`vpdq.computeHash(..., thread_count=1)`), each in a
process of its own pinned to one CPU (`taskset -c 0`), alternating, `--rounds` times; the
time is the hashing call's own (interpreter start and imports excluded). The figure is
video seconds hashed per wall second; the ratio is safeguard's over the reference's. The
reference lives in its own Python environment (see bench/vpdq_conformance.py for how it
is built):

    python bench/video.py --reference-python /tmp/vpdqenv/bin/python

Per frame: `frame_pdq` (the compiled frame hasher) against `pdqhash.compute` on the same
RGB frames (the first photo, or a synthetic scene, at each size), in this process: median
milliseconds a call over `--frame-calls` calls, and whether the two hashes are equal.

Matching: `--bank` synthetic listed videos of `--listed-frames` frames each (random PDQs,
as far apart as unrelated videos' frames) in the frame index (index/frames.py); the query
is `--query-minutes` of video at one frame a second, built from one listed video's frames
each a few bits off (a re-encode). The baseline is python-threatexchange's brute-force
rule (`match_percents` with each listed video in turn) on the first `--baseline-videos`
videos, scaled to the whole bank.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from vpdq_index import nudged, random_pdq  # noqa: E402

from safeguard.evaluation.videos import slideshow, write_video  # noqa: E402
from safeguard.index.frames import VpdqIndex  # noqa: E402
from safeguard.signals.video import Frame, match_percents, parse, serialize  # noqa: E402

OURS = """
import json, sys, time
from safeguard.signals.video import hash_video
start = time.perf_counter()
frames = hash_video(sys.argv[1])
took = time.perf_counter() - start
print(json.dumps({"seconds": took, "frames": [[f.pdq, f.quality] for f in frames]}))
"""
REFERENCE = """
import json, sys, time, vpdq
start = time.perf_counter()
frames = vpdq.computeHash(sys.argv[1], seconds_per_hash=1.0, thread_count=1)
took = time.perf_counter() - start
print(json.dumps({"seconds": took, "frames": [[f.hex, f.quality] for f in frames]}))
"""


def make_videos(
    folder: Path,
    sizes: list[tuple[int, int]],
    seconds: int,
    fps: int,
    photos: list[Path],
    bframes: list[str],
) -> list[Path]:
    made = []
    for n, size in enumerate(sizes):
        for b in bframes:
            name = f"slideshow_{size[0]}x{size[1]}_{fps}fps_{seconds}s_bframes-{b}.mp4"
            options = {} if b == "default" else {"x264-params": f"bframes={int(b)}"}
            pictures = slideshow(900 + n, seconds, fps, size, photos)
            write_video(folder / name, pictures, fps, options=options)
            made.append(folder / name)
            print(f"built {name}: {(folder / name).stat().st_size:,} bytes", file=sys.stderr)
    return made


def _pinned(python: str, script: str, video: Path) -> dict[str, object]:
    cmd = [python, "-c", script, str(video)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _duration(video: Path) -> float:
    import av

    with av.open(str(video)) as c:
        return float(c.duration) / 1_000_000


def hashing(videos: list[Path], reference: str | None, rounds: int) -> list[dict[str, object]]:
    rows = []
    for video in videos:
        length = _duration(video)
        ours: list[float] = []
        theirs: list[float] = []
        same = None
        for _ in range(rounds):
            a = _pinned(sys.executable, OURS, video)
            ours.append(float(a["seconds"]))  # type: ignore[arg-type]
            if reference:
                b = _pinned(reference, REFERENCE, video)
                theirs.append(float(b["seconds"]))  # type: ignore[arg-type]
                same = a["frames"] == b["frames"]
        row: dict[str, object] = {
            "video": video.name,
            "video_seconds": round(length, 2),
            "safeguard_s": [round(x, 3) for x in ours],
            "safeguard_video_s_per_s": round(length / statistics.median(ours), 1),
        }
        if theirs:
            row["reference_s"] = [round(x, 3) for x in theirs]
            row["reference_video_s_per_s"] = round(length / statistics.median(theirs), 1)
            row["ratio_safeguard_to_reference"] = round(
                statistics.median(theirs) / statistics.median(ours), 2
            )
            row["same_frames_as_reference"] = same
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def frame_hashing(
    sizes: list[tuple[int, int]], photos: list[Path], calls: int
) -> list[dict[str, object]]:
    import numpy as np
    import pdqhash
    from PIL import Image

    from safeguard.signals.video import frame_pdq

    rows = []
    for width, height in sizes:
        picture = next(iter(slideshow(901, 1, 1, (width, height), photos)))
        pixels = np.ascontiguousarray(np.asarray(Image.fromarray(picture).convert("RGB")))
        bits, quality = pdqhash.compute(pixels)
        theirs = (np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality))
        times: dict[str, list[float]] = {"frame_pdq": [], "pdqhash": []}
        for _ in range(calls):
            for name, call in (("frame_pdq", frame_pdq), ("pdqhash", pdqhash.compute)):
                start = time.perf_counter()
                call(pixels)
                times[name].append(time.perf_counter() - start)
        row: dict[str, object] = {
            "size": f"{width}x{height}",
            "frame_pdq_ms": round(statistics.median(times["frame_pdq"]) * 1000, 2),
            "pdqhash_ms": round(statistics.median(times["pdqhash"]) * 1000, 2),
            "equal": frame_pdq(pixels) == theirs,
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def matching(
    bank: int, listed_frames: int, query_minutes: float, baseline: int
) -> dict[str, object]:
    rng = random.Random(7)
    values = [
        serialize([Frame(random_pdq(rng), 100, float(s)) for s in range(listed_frames)])
        for _ in range(bank)
    ]
    start = time.perf_counter()
    index = VpdqIndex()
    index.add(enumerate(values))
    build = time.perf_counter() - start
    target = bank // 2
    listed = parse(values[target])
    count = round(query_minutes * 60)
    frames = [
        Frame(nudged(listed[i % len(listed)].pdq, 6, rng), 100, float(i)) for i in range(count)
    ]
    query = serialize(frames)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        found = index.query(query, 20)
        times.append(time.perf_counter() - start)
    subset = min(baseline, bank)
    start = time.perf_counter()
    brute = [i for i in range(subset) if match_percents(frames, parse(values[i]))[0] >= 80]
    brute_s = (time.perf_counter() - start) * bank / subset
    return {
        "listed_videos": bank,
        "frames_per_listed_video": listed_frames,
        "query_frames": count,
        "index_build_s": round(build, 1),
        "index_query_s": [round(t, 3) for t in times],
        "found": [hit[0] for hit in found],
        "expected": [target],
        "brute_force_s_scaled_to_bank": round(brute_s, 1),
        "brute_force_videos_run": subset,
        "brute_force_found_in_subset": brute,
        "speedup_over_brute_force": round(brute_s / statistics.median(times), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference-python", help="A Python with Meta's `vpdq` installed.")
    ap.add_argument("--sizes", default="640x360,1280x720")
    ap.add_argument(
        "--bframes",
        default="default,0",
        help="B-frames per built file: x264's default, or a number (comma-separated).",
    )
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--photos", type=Path, help="Folder of photos for the slideshows.")
    ap.add_argument("--videos", type=Path, help="Hash these video files instead of building.")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--frame-calls", type=int, default=100)
    ap.add_argument("--bank", type=int, default=100_000)
    ap.add_argument("--listed-frames", type=int, default=30)
    ap.add_argument("--query-minutes", type=float, default=10)
    ap.add_argument("--baseline-videos", type=int, default=1000)
    ap.add_argument("--skip-hashing", action="store_true")
    ap.add_argument("--skip-matching", action="store_true")
    args = ap.parse_args()
    out: dict[str, object] = {}
    photos = sorted(args.photos.glob("*.jpg")) if args.photos else []
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    if not args.skip_hashing:
        out["per_frame"] = frame_hashing(sizes, photos, args.frame_calls)  # type: ignore[arg-type]
        with tempfile.TemporaryDirectory(prefix="safeguard-bench-video-") as tmp:
            if args.videos:
                videos = sorted(p for p in args.videos.iterdir() if p.is_file())
            else:
                bframes = args.bframes.split(",")
                videos = make_videos(Path(tmp), sizes, args.seconds, args.fps, photos, bframes)  # type: ignore[arg-type]
            out["hashing"] = hashing(videos, args.reference_python, args.rounds)
    if not args.skip_matching:
        out["matching"] = matching(
            args.bank, args.listed_frames, args.query_minutes, args.baseline_videos
        )
        print(json.dumps(out["matching"]), file=sys.stderr)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
