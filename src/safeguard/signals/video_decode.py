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
from array import array
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


class UntrustedTimestamps(Exception):
    """Sampling by timestamps (`sample_frames(..., quick=True)`) cannot be sure of the frame
    numbers of this video: sample it again decoding every frame."""


def sample_frames(
    path: str | BinaryIO,
    every: float = 1.0,
    limits: VideoLimits | None = None,
    *,
    quick: bool = False,
) -> Iterator[SampledFrame]:
    """The frames of the video at `path` (a file name, or a binary file open for reading and
    seeking, such as an upload spooled to disk), one per `every` seconds of frames (see the
    module).

    With `quick`, frames are numbered by their timestamp's rank among the stream's packets
    (read first, without decoding), and a frame that is neither sampled nor referred to by
    any other frame is not decoded at all (FFmpeg's `skip_frame`): the same frames, with
    less decoding where a codec has such frames (H.264's and HEVC's B-frames, half the
    frames in a typical encode). Where that numbering cannot be trusted (a packet without a
    timestamp or one repeated, packets the container discards, a frame that does not come
    out in order or a sampled frame that never comes out), it raises UntrustedTimestamps,
    before any frame or part way, and the caller samples again without `quick`."""
    av = require("av", "video", "hashing videos")
    limits = limits or VideoLimits()
    if not every > 0:
        raise ValueError("every must be above 0 seconds")
    started = time.monotonic()
    ranks = _timestamp_ranks(av, path, limits, started) if quick else None
    if quick and ranks is None:
        raise UntrustedTimestamps
    container = _open(av, path)
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
        decoded = (
            enumerate(container.decode(stream))
            if ranks is None
            else _skipping(container, stream, ranks, step)
        )
        try:
            for number, frame in decoded:
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


def _open(av: Any, path: str | BinaryIO) -> Any:
    if not isinstance(path, str):
        path.seek(0)
    try:
        return av.open(path, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise FileProblem(
            f"not a video this decoder reads ({_said(e)})", "unsupported_format"
        ) from None


#: the most packets a second the quick way reads before leaving a video to the full decode
#: (whose limits then decide): bounds what the timestamps of a hostile file can hold
_MAX_PACKET_RATE = 300


class _Ranks:
    """Every packet timestamp of a stream, sorted (8 bytes each): a timestamp's rank is the
    display number of its frame."""

    def __init__(self, timestamps: np.ndarray) -> None:
        self.sorted = timestamps

    def __len__(self) -> int:
        return len(self.sorted)

    def of(self, pts: int | None) -> int | None:
        if pts is None:
            return None
        at = int(np.searchsorted(self.sorted, pts))
        return at if at < len(self.sorted) and int(self.sorted[at]) == pts else None


def _timestamp_ranks(
    av: Any, path: str | BinaryIO, limits: VideoLimits, started: float
) -> _Ranks | None:
    """The ranks of the first video stream's packet timestamps, read without decoding; None
    when a packet has no timestamp, is one the container discards, or repeats one, or the
    stream has more packets than its playing-time limit allows."""
    most = int(limits.max_seconds * _MAX_PACKET_RATE) + 1
    with _open(av, path) as container:
        if not container.streams.video:
            return None
        seen = array("q")
        try:
            for packet in container.demux(container.streams.video[0]):
                if not packet.size:  # the empty packet that ends the stream
                    continue
                if packet.pts is None or packet.is_discard or packet.is_corrupt:
                    return None
                seen.append(packet.pts)
                if len(seen) > most:
                    return None
                if time.monotonic() - started > limits.max_decode_seconds:
                    raise FileProblem(
                        f"reading took over {limits.max_decode_seconds:,.0f} s", "too_slow"
                    )
        except av.error.FFmpegError:
            return None  # the full decode says what is wrong
    ordered = np.sort(np.frombuffer(seen, dtype=np.int64))
    return _Ranks(ordered) if not len(ordered) or np.all(np.diff(ordered) > 0) else None


def _skipping(container: Any, stream: Any, ranks: _Ranks, step: int) -> Iterator[tuple[int, Any]]:
    """(number, frame) of the frames decoded, numbered by timestamp rank, each packet sent
    to the decoder with `skip_frame` NONREF unless its frame is sampled (see
    sample_frames); UntrustedTimestamps as soon as the numbers disagree."""
    context = stream.codec_context
    wanted = 0  # the next sampled number: it must come out before any later frame
    last = -1
    for packet in container.demux(stream):
        if packet.size:
            rank = ranks.of(packet.pts)
            context.skip_frame = "DEFAULT" if rank is None or rank % step == 0 else "NONREF"
        for frame in packet.decode():
            number = ranks.of(frame.pts)
            if number is None or number <= last or number > wanted:
                raise UntrustedTimestamps
            last = number
            if number == wanted:
                wanted += step
            yield number, frame
    if wanted < len(ranks):
        raise UntrustedTimestamps


def stream_digest(path: str | BinaryIO, limits: VideoLimits | None = None) -> str | None:
    """The MD5 of the first video stream as stored: its packets' bytes in file order, read
    without decoding (None when the file has no video stream). A FileProblem as for
    `sample_frames` when the file is not a video, is too long, or takes too long to read."""
    av = require("av", "video", "hashing videos")
    limits = limits or VideoLimits()
    started = time.monotonic()
    with _open(av, path) as container:
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
