"""Video decoding for video signals: frames sampled as vPDQ samples them, with hard limits.

PyAV (the `video` extra: its wheels bundle FFmpeg, so nothing else is installed) opens the
file and decodes its first video stream. As in Meta's vPDQ reference, every Nth decoded
frame is kept, N being `every` seconds times the stream's average frame rate (whole, at
least 1), each stamped with its number divided by that rate (in single precision), and
converted to RGB at its own size with an area filter; unlike the reference, a stream's
rotation metadata is applied (a phone video is hashed the way it is shown). What would cost
unbounded time or memory is refused before or while decoding, with a FileProblem naming it:
a file that is not a video, no video stream, frames over the pixel limit, a duration over
the limit (declared or reached), more decoding time than the limit, or a broken stream
(the limits: config.VideoLimits, set by SAFEGUARD_MAX_VIDEO_*).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from safeguard.config import VideoLimits
from safeguard.errors import FileProblem
from safeguard.extras import require


@dataclass(frozen=True)
class SampledFrame:
    """One frame kept: its number among the decoded frames (from 0), its time in seconds
    (number / frame rate), and its pixels (HxWx3 uint8 RGB, rotation applied)."""

    number: int
    seconds: float
    pixels: np.ndarray


#: the first bytes of the containers a video comes in (MP4/MOV/3GP, Matroska/WebM, AVI,
#: FLV, MPEG program and transport streams, Ogg, ASF/WMV)
_MAGIC = (
    (4, b"ftyp"),
    (0, b"\x1a\x45\xdf\xa3"),
    (8, b"AVI "),
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),
    (0, b"OggS"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"),
)


def looks_like_video(head: bytes) -> bool:
    """Whether a file's first bytes are those of a video container (a cheap test: a file
    that passes is then opened by the decoder, which has the last word)."""
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:  # MPEG transport stream
        return True
    return any(head[at : at + len(magic)] == magic for at, magic in _MAGIC)


def sample_frames(
    path: str | BinaryIO, every: float = 1.0, limits: VideoLimits | None = None
) -> Iterator[SampledFrame]:
    """The frames of the video at `path` (a file name, or a binary file open for reading and
    seeking, such as an upload spooled to disk), one per `every` seconds of frames (see the
    module)."""
    av = require("av", "video", "hashing videos")
    limits = limits or VideoLimits()
    if not every > 0:
        raise ValueError("every must be above 0 seconds")
    started = time.monotonic()
    try:
        container = av.open(path, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise FileProblem(
            f"not a video this decoder reads ({_said(e)})", "unsupported_format"
        ) from None
    with container:
        if not container.streams.video:
            raise FileProblem("no video stream in the file", "unsupported_format")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width or 0, stream.codec_context.height or 0
        if width * height > limits.max_frame_pixels:
            raise FileProblem(
                f"frames of {width}x{height} are over the limit of {limits.max_frame_pixels:,} "
                "pixels",
                "frames_too_large",
            )
        declared = _duration(container, stream)
        if declared is not None and declared > limits.max_seconds:
            raise FileProblem(
                f"the video lasts {declared:,.0f} s, over the limit of {limits.max_seconds:,.0f} s",
                "too_long",
            )
        rate = _rate(stream)
        step = max(1, int(every * rate))
        try:
            for number, frame in enumerate(container.decode(stream)):
                if time.monotonic() - started > limits.max_decode_seconds:
                    raise FileProblem(
                        f"decoding took over {limits.max_decode_seconds:,.0f} s", "too_slow"
                    )
                if frame.width * frame.height > limits.max_frame_pixels:
                    raise FileProblem(
                        f"a frame of {frame.width}x{frame.height} is over the pixel limit",
                        "frames_too_large",
                    )
                seconds = float(np.float32(number) / np.float32(rate))
                if seconds > limits.max_seconds:
                    raise FileProblem(
                        f"the video plays past the limit of {limits.max_seconds:,.0f} s",
                        "too_long",
                    )
                if number % step:
                    continue
                rgb = frame.reformat(format="rgb24", interpolation="AREA").to_ndarray()
                yield SampledFrame(number, seconds, _rotated(rgb, frame))
        except av.error.FFmpegError as e:
            raise FileProblem(
                f"the video stream is damaged ({_said(e)})", "corrupt_video"
            ) from None


def stream_digest(path: str | BinaryIO, limits: VideoLimits | None = None) -> str | None:
    """The MD5 of the first video stream as stored: its packets' bytes in file order, read
    without decoding (None when the file has no video stream). A FileProblem as for
    `sample_frames` when the file is not a video, is too long, or takes too long to read."""
    av = require("av", "video", "hashing videos")
    limits = limits or VideoLimits()
    started = time.monotonic()
    try:
        container = av.open(path, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise FileProblem(
            f"not a video this decoder reads ({_said(e)})", "unsupported_format"
        ) from None
    with container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        declared = _duration(container, stream)
        if declared is not None and declared > limits.max_seconds:
            raise FileProblem(
                f"the video lasts {declared:,.0f} s, over the limit of {limits.max_seconds:,.0f} s",
                "too_long",
            )
        digest = hashlib.md5(usedforsecurity=False)
        try:
            for packet in container.demux(stream):
                if time.monotonic() - started > limits.max_decode_seconds:
                    raise FileProblem(
                        f"reading took over {limits.max_decode_seconds:,.0f} s", "too_slow"
                    )
                if packet.size:
                    digest.update(memoryview(packet))
        except av.error.FFmpegError as e:
            raise FileProblem(
                f"the video stream is damaged ({_said(e)})", "corrupt_video"
            ) from None
    return digest.hexdigest()


def _duration(container: object, stream: object) -> float | None:
    d = getattr(container, "duration", None)  # in AV_TIME_BASE units (microseconds)
    if d:
        return float(d) / 1_000_000
    if getattr(stream, "duration", None) and getattr(stream, "time_base", None):
        return float(stream.duration * stream.time_base)  # type: ignore[attr-defined]
    return None


def _rate(stream: Any) -> float:
    """Frames per second: the stream's average rate, else its base rate (as the reference
    reads them); a stream that declares neither is refused."""
    for rate in (stream.average_rate, stream.base_rate, stream.guessed_rate):
        if rate and float(rate) > 0:
            return float(rate)
    raise FileProblem("the video stream declares no frame rate", "corrupt_video")


def _rotated(pixels: np.ndarray, frame: object) -> np.ndarray:
    """The picture as it is meant to be seen: the stream's display rotation applied."""
    degrees = int(getattr(frame, "rotation", 0) or 0) % 360
    turns = {90: 1, 180: 2, 270: 3}.get(degrees, 0)
    return np.ascontiguousarray(np.rot90(pixels, turns)) if turns else pixels


def _said(e: Exception) -> str:
    return str(getattr(e, "strerror", None) or e).splitlines()[0][:200]
