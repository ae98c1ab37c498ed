"""How vPDQ matching survives edits of videos (`safeguard eval video`, docs/evaluation.md).

Test videos are built here: slideshows of the synthetic photos of safeguard.samples (a new
photo every 3 s, each slowly panned and zoomed, as a camera drifts), encoded with PyAV.
Each video is banked by its vPDQ; each is then edited (the catalogue below), encoded again,
hashed from the file as any upload would be, and looked up among all the banked videos as
safeguard looks videos up (a video of small frames by its upscaled variant too): recall
per edit (the edited copy matches its original), recall by the plain vPDQ rule alone (as
HMA matches), false matches (it matches another), and, among the originals themselves,
every pair that matches (none should).
"""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from safeguard.errors import InvalidRequest
from safeguard.extras import require
from safeguard.samples import scene
from safeguard.signals.video import Frame, hash_video_with_variant, match_percents

#: frames per second and size of the slideshows
FPS = 10
SIZE = (320, 240)
SECONDS = 9
#: a new photo every 3 s
PHOTOS_PER_VIDEO = math.ceil(SECONDS / 3)
#: a video matches when at least this share of its frames match (the vpdq default, 80%)
MATCH_PERCENT = 80.0

Frames = list[np.ndarray]


def slideshow_frames(
    seed: int,
    seconds: float,
    fps: float,
    size: tuple[int, int],
    photos: Sequence[Path] = (),
) -> Frames:
    """A slideshow: a new photo every 3 s, each slowly panned and zoomed over its time. The
    photos are synthetic scenes drawn from `seed`, or, given `photos`, those files in turn
    from the `seed`th (modulo their number)."""
    return list(slideshow(seed, seconds, fps, size, photos))


def slideshow(
    seed: int,
    seconds: float,
    fps: float,
    size: tuple[int, int],
    photos: Sequence[Path] = (),
) -> Iterator[np.ndarray]:
    """slideshow_frames one frame at a time (long or large videos)."""
    width, height = size
    per_photo = round(3 * fps)
    photo: Image.Image | None = None
    for i in range(round(seconds * fps)):
        if i % per_photo == 0:
            photo = _photo(seed, i // per_photo, (width * 2, height * 2), photos)
        assert photo is not None
        t = (i % per_photo) / per_photo
        zoom = 1.0 + 0.04 * t  # the crop shrinks slowly: the view zooms in
        w, h = int(width * 2 / (1.25 * zoom)), int(height * 2 / (1.25 * zoom))
        left = int((width * 2 - w) * (0.4 + 0.1 * t))  # and pans right
        top = int((height * 2 - h) * 0.4)
        view = photo.crop((left, top, left + w, top + h)).resize((width, height))
        yield np.asarray(view.convert("RGB"))


def _photo(seed: int, n: int, size: tuple[int, int], photos: Sequence[Path]) -> Image.Image:
    if not photos:
        return scene(seed * 1000 + n, size)
    with Image.open(photos[(seed * 3 + n) % len(photos)]) as im:
        return ImageOps.fit(im.convert("RGB"), size)


def write_video(
    path: Path,
    pictures: Iterable[np.ndarray],
    fps: int | Fraction,
    *,
    codec: str = "libx264",
    bitrate: int | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames (a list, or an iterator for long videos) into a video file
    (yuv420p; even sizes for H.264); `options` go to the encoder (e.g. x264-params)."""
    av = require("av", "video", "building test videos")
    frames = iter(pictures)
    first = next(frames)
    height, width = first.shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if bitrate is not None:
            stream.bit_rate = bitrate
        if options:
            stream.options = options
        for picture in itertools.chain([first], frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@dataclass(frozen=True)
class VideoEdit:
    """An edit: new frames from the original's (and the frame rate it plays at), and how
    the result is encoded."""

    name: str
    change: Callable[[Frames], tuple[Frames, int]]
    bitrate: int | None = None
    codec: str = "libx264"


def _resize(f: float) -> Callable[[Frames], tuple[Frames, int]]:
    def change(frames: Frames) -> tuple[Frames, int]:
        h, w = frames[0].shape[:2]
        size = (int(w * f) // 2 * 2, int(h * f) // 2 * 2)
        return [np.asarray(Image.fromarray(x).resize(size)) for x in frames], FPS

    return change


def _border(frames: Frames) -> tuple[Frames, int]:
    h, w = frames[0].shape[:2]
    pad = ((h // 10 // 2 * 2,) * 2, (w // 10 // 2 * 2,) * 2, (0, 0))
    return [np.pad(x, pad) for x in frames], FPS


def _caption(frames: Frames) -> tuple[Frames, int]:
    out = []
    for x in frames:
        im = Image.fromarray(x)
        draw = ImageDraw.Draw(im)
        h = im.height
        draw.rectangle((0, h - h // 7, im.width, h), fill=(0, 0, 0))
        draw.text((8, h - h // 8), "shared with friends  #weekend", fill=(255, 255, 255))
        out.append(np.asarray(im))
    return out, FPS


def _cut_middle(frames: Frames) -> tuple[Frames, int]:
    middle = len(frames) // 2
    return frames[: middle - FPS] + frames[middle + FPS :], FPS


CATALOGUE: tuple[VideoEdit, ...] = (
    VideoEdit("reencode_60kbps", lambda f: (f, FPS), bitrate=60_000),
    VideoEdit("vp9_webm", lambda f: (f, FPS), codec="libvpx-vp9"),
    VideoEdit("resize_50", _resize(0.5)),
    VideoEdit("resize_150", _resize(1.5)),
    VideoEdit("half_frame_rate", lambda f: (f[::2], FPS // 2)),
    VideoEdit("trim_start_end", lambda f: (f[25 : len(f) - 15], FPS)),
    VideoEdit("cut_middle_2s", _cut_middle),
    VideoEdit("border_10", _border),
    VideoEdit("mirror", lambda f: ([np.ascontiguousarray(x[:, ::-1]) for x in f], FPS)),
    VideoEdit("caption", _caption),
)
#: the edits a vPDQ match is expected to survive (issue #20's line); the others are reported
EXPECTED = (
    "reencode_60kbps",
    "vp9_webm",
    "resize_50",
    "resize_150",
    "half_frame_rate",
    "trim_start_end",
)


#: a video as a lookup sees it: its vPDQ frames and those of its `upscaled` variant, if any
Hashes = tuple[list[Frame], list[Frame] | None]


def _hashed(frames: Frames, fps: int, edit: VideoEdit, folder: Path) -> Hashes:
    suffix = ".webm" if edit.codec == "libvpx-vp9" else ".mp4"
    path = write_video(
        folder / f"{edit.name}{suffix}", frames, fps, codec=edit.codec, bitrate=edit.bitrate
    )
    try:
        return hash_video_with_variant(str(path))
    finally:
        path.unlink()


def hash_all(
    count: int,
    edits: tuple[VideoEdit, ...] = CATALOGUE,
    first_seed: int = 500,
    photos: Sequence[Path] = (),
) -> Iterator[tuple[int, Hashes, dict[str, Hashes]]]:
    """For each of `count` slideshows (of synthetic scenes, or of `photos`, three to a
    video): its seed, its hashes (the listed value is the plain frames), and each edit's.
    No photo is in two videos (an edited copy of one would rightly match the other):
    InvalidRequest when there are too few photos for `count` videos."""
    if photos and count * PHOTOS_PER_VIDEO > len(photos):
        raise InvalidRequest(
            f"{count} videos of {PHOTOS_PER_VIDEO} photos need {count * PHOTOS_PER_VIDEO} "
            f"distinct photos (no photo may be in two videos); there are {len(photos)}: ask "
            f"for at most {len(photos) // PHOTOS_PER_VIDEO} videos, or give more photos"
        )
    with tempfile.TemporaryDirectory(prefix="safeguard-eval-video-") as tmp:
        folder = Path(tmp)
        original = VideoEdit("original", lambda f: (f, FPS))
        for seed in range(first_seed, first_seed + count):
            frames = slideshow_frames(seed, SECONDS, FPS, SIZE, photos)
            listed = _hashed(frames, FPS, original, folder)
            edited = {}
            for e in edits:
                changed, fps = e.change(frames)
                edited[e.name] = _hashed(changed, fps, e, folder)
            yield seed, listed, edited


def matches(query: Hashes, listed: list[Frame], *, variant: bool = True) -> bool:
    """Whether a lookup of `query` finds `listed`: its frames, or (`variant`) those of its
    upscaled variant, match at MATCH_PERCENT."""
    tried = [query[0]] + ([query[1]] if variant and query[1] else [])
    return any(match_percents(q, listed)[0] >= MATCH_PERCENT for q in tried)


def evaluate(
    hashed: list[tuple[int, Hashes, dict[str, Hashes]]], photos: str = "synthetic scenes"
) -> dict[str, object]:
    """Recall and false matches per edit (as safeguard looks videos up, and by the plain
    vPDQ rule alone, as HMA matches), and matching pairs among the originals."""
    originals = [listed[0] for _, listed, _ in hashed]
    per_edit: dict[str, dict[str, object]] = {}
    for name in hashed[0][2]:
        found = plain = wrong = 0
        for i, (_, _, edited) in enumerate(hashed):
            query = edited[name]
            found += matches(query, originals[i])
            plain += matches(query, originals[i], variant=False)
            wrong += sum(matches(query, o) for j, o in enumerate(originals) if j != i)
        per_edit[name] = {
            "recall": found / len(hashed),
            "matched": found,
            "of": len(hashed),
            "recall_plain_vpdq": plain / len(hashed),
            "false_matches": wrong,
            "expected_to_survive": name in EXPECTED,
        }
    pairs = [
        (hashed[i][0], hashed[j][0])
        for i in range(len(hashed))
        for j in range(len(hashed))
        if i != j and matches(hashed[i][1], originals[j])
    ]
    return {
        "videos": len(hashed),
        "photos": photos,
        "seconds": SECONDS,
        "fps": FPS,
        "size": list(SIZE),
        "match_percent": MATCH_PERCENT,
        "edits": per_edit,
        "distinct_pairs_checked": len(hashed) * (len(hashed) - 1),
        "distinct_pairs_matched": [list(p) for p in pairs],
    }


def markdown(report: dict[str, object]) -> str:
    edits = report["edits"]
    assert isinstance(edits, dict)
    lines = [
        f"{report['videos']} slideshows of {report['photos']}, {report['seconds']} s at "
        f"{report['fps']} fps; a "
        f"copy matches at {report['match_percent']:.0f}% of its frames",
        "",
        "| edit | recall | matched | plain vPDQ recall | false matches | expected to survive |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r in edits.items():
        lines.append(
            f"| {name} | {r['recall']:.1%} | {r['matched']}/{r['of']} | "
            f"{r['recall_plain_vpdq']:.1%} | {r['false_matches']} | "
            f"{'yes' if r['expected_to_survive'] else 'no'} |"
        )
    lines.append("")
    lines.append(
        f"Distinct videos: {len(report['distinct_pairs_matched'])} of "  # type: ignore[arg-type]
        f"{report['distinct_pairs_checked']} ordered pairs match."
    )
    return "\n".join(lines)
