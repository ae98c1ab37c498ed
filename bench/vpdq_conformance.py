"""safeguard's vPDQ against the reference (facebook/ThreatExchange `vpdq`), frame by frame.

The reference is the `vpdq` package from PyPI, which compiles against FFmpeg's development
libraries, so it lives in a Python environment of its own, e.g. on Debian 12:

    apt-get install pkg-config cmake libavdevice-dev libavfilter-dev libavformat-dev \\
        libavcodec-dev libswresample-dev libswscale-dev libavutil-dev
    python3 -m venv /tmp/vpdqenv && /tmp/vpdqenv/bin/pip install vpdq numpy

Then, from the repository root:

    python bench/vpdq_conformance.py --reference-python /tmp/vpdqenv/bin/python
        compare safeguard with the reference on tests/data/videos/, print JSON
    python bench/vpdq_conformance.py --reference-python /tmp/vpdqenv/bin/python --write
        (re)write tests/data/vpdq_reference.json, which tests/signals/test_video.py reads
    python bench/vpdq_conformance.py --make-videos
        (re)build the conformance videos (slideshows of the synthetic photos)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VIDEOS = REPO / "tests" / "data" / "videos"
REFERENCE = REPO / "tests" / "data" / "vpdq_reference.json"
#: name -> (seed, seconds, frames per second, size, codec): small, and between them a
#: whole frame rate, a fractional one (a step of 29 frames) and an odd frame size
MADE = {
    "slideshow_h264_10fps.mp4": (11, 8, Fraction(10), (320, 240), "libx264"),
    "slideshow_vp9_29.97fps.webm": (12, 6, Fraction(30000, 1001), (256, 192), "libvpx-vp9"),
    "slideshow_mpeg4_25fps_odd.avi": (13, 6, Fraction(25), (250, 186), "mpeg4"),
}

_REFERENCE_SCRIPT = """
import json, sys, vpdq
out = {}
for path in sys.argv[1:]:
    feats = vpdq.computeHash(path, seconds_per_hash=1.0)
    out[path] = [[f.frame_number, f.quality, f.hex, float(f.timestamp)] for f in feats]
from importlib.metadata import version
print(json.dumps({"vpdq": version("vpdq"), "frames": out}))
"""


def make_videos() -> None:
    from tests.videogen import frames, write_video

    VIDEOS.mkdir(parents=True, exist_ok=True)
    for name, (seed, seconds, fps, size, codec) in MADE.items():
        shown = frames(seed, seconds, float(fps), size)
        write_video(VIDEOS / name, shown, fps, codec=codec)
        print(f"wrote {name}: {(VIDEOS / name).stat().st_size:,} bytes", file=sys.stderr)


def reference(python: str) -> dict[str, object]:
    paths = [str(VIDEOS / n) for n in sorted(MADE)]
    done = subprocess.run(
        [python, "-c", _REFERENCE_SCRIPT, *paths], capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout)
    ffmpeg = subprocess.run(
        ["pkg-config", "--modversion", "libavcodec"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "made_with": f"vpdq {found['vpdq']} (PyPI), libavcodec {ffmpeg} (Debian 12 packages), "
        "computeHash(path, seconds_per_hash=1.0); bench/vpdq_conformance.py --write",
        "videos": {
            Path(p).name: [
                {"frame": n, "quality": q, "pdq": h, "seconds": t} for n, q, h, t in frames
            ]
            for p, frames in found["frames"].items()
        },
    }


def compare(ref: dict[str, object]) -> dict[str, object]:
    from safeguard.signals.video import hash_video

    out: dict[str, object] = {}
    videos = ref["videos"]
    assert isinstance(videos, dict)
    for name, expected in sorted(videos.items()):
        ours = hash_video(str(VIDEOS / name))
        pairs = list(zip(ours, expected, strict=False))
        distances = [bin(int(a.pdq, 16) ^ int(b["pdq"], 16)).count("1") for a, b in pairs]
        out[name] = {
            "frames": [len(ours), len(expected)],
            "pdq_equal": sum(d == 0 for d in distances),
            "max_distance": max(distances, default=0),
            "quality_equal": sum(a.quality == b["quality"] for a, b in pairs),
            "seconds_equal": sum(abs(a.seconds - b["seconds"]) < 1e-6 for a, b in pairs),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference-python", help="A Python with the reference `vpdq` installed.")
    ap.add_argument("--write", action="store_true", help=f"Write {REFERENCE.name}.")
    ap.add_argument("--make-videos", action="store_true", help="Rebuild the videos.")
    args = ap.parse_args()
    if args.make_videos:
        make_videos()
    if args.reference_python:
        ref = reference(args.reference_python)
        if args.write:
            REFERENCE.write_text(json.dumps(ref, indent=1) + "\n")
            print(f"wrote {REFERENCE}", file=sys.stderr)
    elif REFERENCE.exists():
        ref = json.loads(REFERENCE.read_text())
    else:
        return
    print(json.dumps({"reference": ref["made_with"], "videos": compare(ref)}, indent=1))


if __name__ == "__main__":
    main()
