"""Benign test videos, built by the test suite itself: slideshows of the synthetic photos of
safeguard.samples, each photo slowly panned and zoomed, encoded with PyAV (H.264 in MP4
unless asked otherwise). The generator is the video evaluation's
(safeguard.evaluation.videos); no file is downloaded and nothing but generated pictures is
shown."""

from __future__ import annotations

from safeguard.evaluation.videos import slideshow_frames as frames
from safeguard.evaluation.videos import write_video

__all__ = ["frames", "write_video"]
