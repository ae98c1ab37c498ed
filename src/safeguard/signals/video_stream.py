"""stream_md5: the MD5 of a video's first video stream as stored, so a copy moved to another
container without re-encoding (MP4 to Matroska or MOV, a re-mux that keeps the stream's
bytes) still matches when the file's MD5 no longer does.

The stream's packets are read in file order without decoding (signals/video_decode.py), so
it costs a read of the file. It matches only the same encoded stream: any re-encode, and a
re-mux that rewrites the stream's framing (MP4 to MPEG-TS turns length-prefixed H.264 into
start codes), changes it; vPDQ is what survives those.
"""

from __future__ import annotations

from typing import BinaryIO

from safeguard.signals.base import Hashed, HexDigestSignal
from safeguard.signals.video_decode import VideoLimits, stream_digest


class StreamMd5Signal(HexDigestSignal):
    name = "stream_md5"
    description = (
        "MD5 of a video's first video stream as stored, 32 hex digits (matches the same "
        "encoded stream in any container that keeps its bytes)"
    )
    example = "9e107d9d372bb6826bd81d3542a419d6"
    content_types = ("video",)
    hex_length = 32

    @classmethod
    def hash_video(
        cls, path: str | BinaryIO, limits: VideoLimits | None = None, *, variants: bool = False
    ) -> Hashed | None:
        digest = stream_digest(path, limits)
        return Hashed(digest) if digest else None
