"""vPDQ, Meta's video hash: the PDQ of one frame per second, compared frame by frame.

Compatible with the reference (facebook/ThreatExchange `vpdq`) and python-threatexchange's
`vpdq` signal type:
- **Hashing**: frames sampled as the reference samples them (signals/video_decode.py), each
  hashed with PDQ over its RGB pixels as the reference hashes frames, luma in single
  precision (`frame_pdq`: signals/_pdq.c); every frame is kept, none pruned.
- **Value**: python-threatexchange's serialisation, a JSON array with one string per frame,
  `"<64 hex PDQ>,<quality>,<seconds>"`, the seconds written with three significant digits.
- **Matching**: each side's frames are de-duplicated by exact hash and those of quality
  below 50 dropped; a frame matches when a frame of the other video is within Hamming
  distance 31. The share of the query's frames that match must reach 80% (the share of the
  listed video's frames matched is reported, and not required: python-threatexchange's
  defaults). As one number for banks and thresholds, the distance between a query and a
  listed video is 100 minus the share of the query's frames that match, rounded up: the
  default threshold 20 is the 80% rule.
- **Lookups** of a video of small frames (a side of 128 pixels or less) also try its
  `upscaled` variant: each frame enlarged (bicubic) by a whole factor past 128 pixels before
  its PDQ, as PDQ's box filter does not smooth so small a side; the better of the two
  shares counts. The value stored and exchanged is always the reference's.
- **Index**: all listed videos' frames in one PDQ multi-index-hashing index, with votes per
  video (index/frames.py): one pass whatever the number of videos.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, ClassVar

import numpy as np
from PIL import Image

from safeguard.errors import InvalidSignal
from safeguard.signals.base import Hashed, SignalType
from safeguard.signals.pdq import pdq_from_rgb, pdq_to_words
from safeguard.signals.video_decode import (
    SampledFrame,
    UntrustedTimestamps,
    VideoLimits,
    sample_frames,
)

if TYPE_CHECKING:
    from safeguard.index.base import SignalIndex

#: a frame matches a frame of the other video within this Hamming distance
FRAME_DISTANCE = 31
#: frames of lower PDQ quality take no part in matching
FRAME_QUALITY = 50
#: the share of the query's frames that must match (percent)
QUERY_MATCH_PERCENT = 80.0
#: the most frames one value may hold (four hours at one a second)
MAX_FRAMES = 4 * 3600
#: frames with a side of at most this many pixels get the `upscaled` lookup variant: PDQ's
#: box filter is one pixel wide on such a side (no smoothing before it keeps 64 of its
#: rows or columns), so a small copy of a video aliases where the larger original did not
SMALL_SIDE = 128


@dataclass(frozen=True)
class Frame:
    """One hashed frame: PDQ (hex), its quality (0-100), its time in seconds."""

    pdq: str
    quality: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.pdq},{self.quality},{self.seconds:.{3}}"


def hash_video(
    path: str | BinaryIO, every: float = 1.0, limits: VideoLimits | None = None
) -> list[Frame]:
    """The vPDQ frames of the video at `path`, a file name or an open binary file
    (FileProblem when it cannot be decoded)."""
    return hash_video_with_variant(path, every, limits, variant=False)[0]


def hash_video_with_variant(
    path: str | BinaryIO,
    every: float = 1.0,
    limits: VideoLimits | None = None,
    *,
    variant: bool = True,
) -> tuple[list[Frame], list[Frame] | None]:
    """The vPDQ frames of a video and, with `variant`, for a video of small frames (a side
    of at most SMALL_SIDE pixels), the frames of its `upscaled` lookup variant (None for
    others): each frame enlarged by a whole factor past SMALL_SIDE before its PDQ."""
    try:
        return _hashed(sample_frames(path, every, limits, quick=True), variant)
    except UntrustedTimestamps:
        return _hashed(sample_frames(path, every, limits), variant)


def _hashed(
    sampled: Iterable[SampledFrame], variant: bool
) -> tuple[list[Frame], list[Frame] | None]:
    frames: list[Frame] = []
    larger: list[Frame] = []
    for f in sampled:
        pdq, quality = frame_pdq(f.pixels)
        frames.append(Frame(pdq, quality, f.seconds))
        height, width = f.pixels.shape[:2]
        if variant and min(height, width) <= SMALL_SIDE:
            k = SMALL_SIDE // min(height, width) + 1
            big = Image.fromarray(f.pixels).resize(
                (width * k, height * k), Image.Resampling.BICUBIC
            )
            pdq, quality = frame_pdq(np.asarray(big))
            larger.append(Frame(pdq, quality, f.seconds))
    return frames, larger or None


def frame_pdq(pixels: np.ndarray) -> tuple[str, int]:
    """PDQ (64 hex digits) and quality (0-100) of an HxWx3 uint8 RGB frame, computed as
    vPDQ's reference computes it: luma in single precision (signals/_pdq.c)."""
    return pdq_from_rgb(pixels, single_precision=True)


def serialize(frames: Sequence[Frame]) -> str:
    return json.dumps([str(f) for f in frames])


def parse(value: str) -> list[Frame]:
    """Frames from python-threatexchange's serialisation, or InvalidSignal naming the
    problem (the frame and what is wrong with it)."""
    if not isinstance(value, str):
        raise InvalidSignal("a vpdq value is a JSON array of 'pdq,quality,seconds' strings")
    if not value.strip():
        return []
    try:
        items = json.loads(value)
    except ValueError:
        raise InvalidSignal(
            "a vpdq value is a JSON array of 'pdq,quality,seconds' strings; this is not JSON"
        ) from None
    if not isinstance(items, list) or len(items) > MAX_FRAMES:
        raise InvalidSignal(f"a vpdq value is a JSON array of at most {MAX_FRAMES} frames")
    frames = []
    for n, item in enumerate(items, 1):
        parts = item.split(",") if isinstance(item, str) else []
        try:
            if len(parts) != 3:
                raise ValueError("not 'pdq,quality,seconds'")
            pdq, quality, seconds = parts[0].strip().lower(), int(parts[1]), float(parts[2])
            if len(pdq) != 64 or any(c not in "0123456789abcdef" for c in pdq):
                raise ValueError("the PDQ is not 64 hex digits")
            if not 0 <= quality <= 100 or not seconds >= 0 or not math.isfinite(seconds):
                raise ValueError("quality is 0-100 and seconds 0 or more")
        except ValueError as e:
            raise InvalidSignal(f"vpdq frame {n}: {e}") from None
        frames.append(Frame(pdq, quality, seconds))
    return frames


def usable_hashes(frames: Sequence[Frame]) -> list[str]:
    """The frames matching counts, as python-threatexchange does: de-duplicated by exact
    hash (first kept), then those of quality 50 or more, in order."""
    kept: dict[str, int] = {}
    for f in frames:
        kept.setdefault(f.pdq, f.quality)
    return [h for h, q in kept.items() if q >= FRAME_QUALITY]


def _distinct_usable(frames: Sequence[Frame]) -> np.ndarray:
    usable = usable_hashes(frames)
    return pdq_to_words(usable) if usable else np.zeros((0, 4), dtype=np.uint64)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) booleans: which pairs are within FRAME_DISTANCE."""
    x = a[:, None, :] ^ b[None, :, :]
    bits = _POPCOUNT[x.view(np.uint8)].reshape(len(a), len(b), -1).sum(axis=2, dtype=np.int32)
    return np.asarray(bits <= FRAME_DISTANCE)


def match_percents(query: Sequence[Frame], listed: Sequence[Frame]) -> tuple[float, float]:
    """(share of the query's frames that match, share of the listed video's frames that
    match), in percent, as python-threatexchange's brute-force matcher counts them."""
    q, c = _distinct_usable(query), _distinct_usable(listed)
    if not len(q) or not len(c):
        return 0.0, 0.0
    close = np.zeros((len(q), len(c)), dtype=bool)
    for start in range(0, len(q), 256):  # bounded memory for long videos
        close[start : start + 256] = _close(q[start : start + 256], c)
    return (
        float(close.any(axis=1).sum()) * 100 / len(q),
        float(close.any(axis=0).sum()) * 100 / len(c),
    )


class VpdqSignal(SignalType):
    name = "vpdq"
    description = (
        "vPDQ video hash: the PDQ of one frame per second, as python-threatexchange writes "
        "it (a JSON array of 'pdq,quality,seconds'); distance = 100 - % of frames matched"
    )
    example = json.dumps(
        ["f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,0.0"]
    )
    content_types = ("video",)
    exact = False
    default_threshold = 100 - int(QUERY_MATCH_PERCENT)
    #: 99: at least 1% of the query's frames match (100 would take a video none of whose
    #: frames match)
    max_threshold = 99
    every: ClassVar[float] = 1.0

    @classmethod
    def validate(cls, value: str) -> str:
        frames = parse(value)
        if not frames:
            raise InvalidSignal("a vpdq value has at least one frame")
        return serialize(frames)

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """100 minus the share (percent) of `a`'s frames that match `b`'s, rounded up."""
        query, _ = match_percents(parse(a), parse(b))
        return 100 - math.floor(query)

    @classmethod
    def similarity_text(cls, distance: int, query: str, listed: Callable[[], str | None]) -> str:
        """As python-threatexchange shows a vPDQ match: the share of the query's frames that
        match and, in brackets, the share of the listed video's, in whole percent."""
        value = listed()
        if value is None:
            return f"{100 - distance}%"
        q, c = match_percents(parse(query), parse(value))
        return f"{q:.0f}%[{c:.0f}%]"

    @classmethod
    def make_index(cls, ids: Sequence[int], values: Sequence[str]) -> SignalIndex:
        """Every listed video's frames in one PDQ multi-index-hashing index (index/frames.py)."""
        from safeguard.index.frames import VpdqIndex

        index = VpdqIndex()
        index.add(zip(ids, values, strict=True))
        return index

    @classmethod
    def hash_video(
        cls, path: str | BinaryIO, limits: VideoLimits | None = None, *, variants: bool = False
    ) -> Hashed | None:
        frames, larger = hash_video_with_variant(path, cls.every, limits, variant=variants)
        if not frames:
            return None
        return Hashed(serialize(frames), variants={"upscaled": serialize(larger)} if larger else {})
