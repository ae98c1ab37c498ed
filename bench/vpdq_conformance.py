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
    python bench/vpdq_conformance.py --encodings [--reference-python PY]
        build one slideshow 21 ways (codecs, containers, B-frames, open GOP, frame rates, a
        stream cut mid-GOP) and compare, per file, safeguard's quick sampling (frames
        nothing refers to not decoded) with decoding every frame, and with the reference
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

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


def _run_reference(python: str, paths: list[str]) -> dict[str, Any]:
    """The reference's frames of each file ({"vpdq": version, "frames": {path: [...]}})."""
    done = subprocess.run(
        [python, "-c", _REFERENCE_SCRIPT, *paths], capture_output=True, text=True, check=True
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def reference(python: str) -> dict[str, object]:
    found = _run_reference(python, [str(VIDEOS / n) for n in sorted(MADE)])
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


#: name -> (codec, frame rate, codec options, pixel format); all 320x240, 12 s of slideshow
ENCODINGS = {
    "x264_bf0.mp4": ("libx264", 30, {"x264-params": "bframes=0"}, "yuv420p"),
    "x264_bf3_pyramid.mp4": (
        "libx264",
        30,
        {"x264-params": "bframes=3:b-pyramid=normal"},
        "yuv420p",
    ),
    "x264_bf8_opengop.mp4": (
        "libx264",
        30,
        {"x264-params": "bframes=8:open-gop=1:keyint=48"},
        "yuv420p",
    ),
    "x264.mkv": ("libx264", 30, {}, "yuv420p"),
    "x264.mov": ("libx264", 30, {}, "yuv420p"),
    "x264.ts": ("libx264", 30, {}, "yuv420p"),
    "x264_25fps.mp4": ("libx264", 25, {}, "yuv420p"),
    "x264_29.97fps.mp4": ("libx264", Fraction(30000, 1001), {}, "yuv420p"),
    "x264_vfr.mkv": ("libx264", 30, {}, "yuv420p"),
    "x264_start_pts.mp4": ("libx264", 30, {}, "yuv420p"),
    "x265.mp4": ("libx265", 30, {"x265-params": "log-level=error"}, "yuv420p"),
    "x265_bf4.mkv": (
        "libx265",
        30,
        {"x265-params": "bframes=4:b-pyramid=1:log-level=error"},
        "yuv420p",
    ),
    "vp8.webm": ("libvpx", 30, {}, "yuv420p"),
    "vp9.webm": ("libvpx-vp9", 30, {}, "yuv420p"),
    "av1.mkv": ("libsvtav1", 30, {"preset": "10"}, "yuv420p"),
    "mpeg4_bf2.avi": ("mpeg4", 30, {"bf": "2"}, "yuv420p"),
    "mpeg4_bf2.mp4": ("mpeg4", 30, {"bf": "2"}, "yuv420p"),
    "mpeg2_bf2.mpg": ("mpeg2video", 30, {"bf": "2"}, "yuv420p"),
    "mjpeg.avi": ("mjpeg", 30, {}, "yuvj420p"),
    "flv1.flv": ("flv", 30, {}, "yuv420p"),
}


def make_encodings(folder: Path) -> list[Path]:
    """The ENCODINGS of one slideshow, and a copy of x264.mkv cut inside its first group of
    pictures (its first frames cannot be shown)."""
    import av
    import numpy as np

    from tests.videogen import frames

    pictures = frames(77, 12, 30, (320, 240))
    made = []
    for name, (codec, rate, options, pix_fmt) in ENCODINGS.items():
        path = folder / name
        with av.open(str(path), mode="w") as out:
            stream = out.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = 320, 240, pix_fmt
            stream.options = options
            if "vfr" in name:
                stream.codec_context.time_base = Fraction(1, 1000)
            for i, picture in enumerate(pictures):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
                if "vfr" in name:  # 33, 38 or 43 ms apart
                    frame.pts, frame.time_base = 38 * i + 5 * ((i % 3) - 1), Fraction(1, 1000)
                elif "start_pts" in name:
                    frame.pts = 1000 + i
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        made.append(path)
    cut = folder / "x264_cut_mid_gop.mkv"
    with av.open(str(folder / "x264.mkv")) as given, av.open(str(cut), mode="w") as out:
        source = given.streams.video[0]
        copied = out.add_stream_from_template(source)
        for packet in [p for p in given.demux(source) if p.dts is not None][5:]:
            packet.stream = copied
            out.mux(packet)
    return [*made, cut]


def compare_encodings(python: str | None) -> dict[str, object]:
    from safeguard.signals.video import _hashed
    from safeguard.signals.video_decode import UntrustedTimestamps, sample_frames

    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="safeguard-vpdq-encodings-") as tmp:
        paths = make_encodings(Path(tmp))
        theirs: dict[str, list[list[object]]] = {}
        if python:
            found = _run_reference(python, [str(p) for p in paths])
            theirs = {Path(k).name: v for k, v in found["frames"].items()}
        for path in paths:
            full = _hashed(sample_frames(str(path)), False)[0]
            try:
                quick: object = _hashed(sample_frames(str(path), quick=True), False)[0] == full
            except UntrustedTimestamps:
                quick = "fell back to decoding every frame"
            row: dict[str, object] = {"frames": len(full), "quick_equals_full": quick}
            if path.name in theirs:
                ref = [(h, q) for _, q, h, _ in theirs[path.name]]
                row["equals_reference"] = ref == [(f.pdq, f.quality) for f in full]
            out[path.name] = row
            print(path.name, json.dumps(row), file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference-python", help="A Python with the reference `vpdq` installed.")
    ap.add_argument("--write", action="store_true", help=f"Write {REFERENCE.name}.")
    ap.add_argument("--make-videos", action="store_true", help="Rebuild the videos.")
    ap.add_argument("--encodings", action="store_true", help="Compare on 21 encodings built here.")
    args = ap.parse_args()
    if args.encodings:
        print(json.dumps(compare_encodings(args.reference_python), indent=1))
        return
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
