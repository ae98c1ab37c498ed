"""Benign test videos, built by the test suite itself: slideshows of the synthetic photos of
safeguard.samples (landscapes of value noise and shapes), each photo shown for a few seconds
with a slow pan and zoom, encoded with PyAV (H.264 in MP4 unless asked otherwise). No file
is downloaded and nothing but generated pictures is shown."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from safeguard.samples import scene


def frames(seed: int, seconds: float, fps: float, size: tuple[int, int]) -> list[np.ndarray]:
    """A slideshow: a new photo every 3 s, each slowly panned and zoomed over its time (as a
    camera drifts: a frame a second later is a few per cent off)."""
    width, height = size
    out = []
    count = round(seconds * fps)
    per_photo = round(3 * fps)
    photo: Image.Image | None = None
    for i in range(count):
        if i % per_photo == 0:
            photo = scene(seed * 1000 + i // per_photo, (width * 2, height * 2))
        assert photo is not None
        t = (i % per_photo) / per_photo
        zoom = 1.0 + 0.04 * t  # the crop shrinks slowly: the view zooms in
        w, h = int(width * 2 / (1.25 * zoom)), int(height * 2 / (1.25 * zoom))
        left = int((width * 2 - w) * (0.4 + 0.1 * t))  # and pans right
        top = int((height * 2 - h) * 0.4)
        view = photo.crop((left, top, left + w, top + h)).resize((width, height))
        out.append(np.asarray(view.convert("RGB")))
    return out


def write_video(
    path: Path,
    pictures: list[np.ndarray],
    fps: int | Fraction,
    *,
    codec: str = "libx264",
    bitrate: int | None = None,
) -> Path:
    """Encode RGB frames into a video file (yuv420p)."""
    height, width = pictures[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if bitrate is not None:
            stream.bit_rate = bitrate
        for picture in pictures:
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def slideshow(path: Path, seed: int, seconds: float = 9, fps: int = 10) -> Path:
    return write_video(path, frames(seed, seconds, fps, (320, 240)), fps)
