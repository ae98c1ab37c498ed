"""Local features of an image: ORB keypoints and descriptors, the signal that survives crops.

PDQ describes the whole picture, so cutting even 2% off each side moves it ~36 bits away
(docs/evaluation.md). Local features describe many small patches, each with its position: a
cropped, rotated, rescaled or framed copy keeps most of them, and the positions of the ones it
keeps agree on one geometric transform, which distinct photos almost never do by chance.

Extraction: the greyscale image is scaled so that its longer side is `SIDE` pixels and
OpenCV's ORB (oriented FAST corners, rotated BRIEF, 256-bit binary descriptors) finds up to
`FEATURES` keypoints. The value stored and compared is a compact string:
`v1:` + base64 of (uint16 count, count x (x, y) as float16, count x 32 descriptor bytes),
about 12 KB for 256 keypoints. It is derived data: the picture cannot be rebuilt from it.

Matching lives in `safeguard.index.local`. Distance is `100 - inliers` (floored at 0), where
inliers are the keypoints that agree on one similarity transform, so smaller is closer as for
every other signal; a match needs at least `MIN_INLIERS` (distance <= `MAX_DISTANCE`).
"""

from __future__ import annotations

import base64
import struct

import cv2
import numpy as np

from safeguard.errors import InvalidSignal

NAME = "local"
SIDE = 512
FEATURES = 256
MIN_INLIERS = 20
#: distance is 100 - inliers: a match needs at least MIN_INLIERS agreeing keypoints
MAX_DISTANCE = 100 - MIN_INLIERS
_PREFIX = "v1:"
_ORB = None


def _orb():  # type: ignore[no-untyped-def]
    global _ORB
    if _ORB is None:  # created lazily: one per process (hashing runs on a process pool)
        _ORB = cv2.ORB_create(nfeatures=FEATURES, fastThreshold=10)
    return _ORB


def extract(pixels: np.ndarray) -> str | None:
    """The local-features value of HxWx3 RGB pixels, or None when too few keypoints (a flat
    or tiny image) to match on, or OpenCV cannot process the image (PDQ still matches)."""
    try:
        grey = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        scale = SIDE / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        keypoints, descriptors = _orb().detectAndCompute(
            cv2.resize(grey, size, interpolation=shrink), None
        )
    except cv2.error:
        return None
    if descriptors is None or len(keypoints) < MIN_INLIERS:
        return None
    points = np.array([k.pt for k in keypoints], dtype=np.float16)
    return encode(points, descriptors)


def encode(points: np.ndarray, descriptors: np.ndarray) -> str:
    n = len(points)
    raw = (
        struct.pack("<H", n)
        + points.astype("<f2").tobytes()
        + np.ascontiguousarray(descriptors, dtype=np.uint8).tobytes()
    )
    return _PREFIX + base64.b64encode(raw).decode("ascii")


def decode(value: str) -> tuple[np.ndarray, np.ndarray]:
    """(points (n, 2) float32, descriptors (n, 32) uint8) of a value, or InvalidSignal."""
    if not isinstance(value, str) or not value.startswith(_PREFIX):
        raise InvalidSignal(f"{NAME} value must start with {_PREFIX!r}")
    try:
        raw = base64.b64decode(value[len(_PREFIX) :], validate=True)
    except ValueError:
        raise InvalidSignal(f"{NAME} value is not valid base64") from None
    if len(raw) < 2:
        raise InvalidSignal(f"{NAME} value is truncated")
    (n,) = struct.unpack_from("<H", raw)
    if len(raw) != 2 + n * (4 + 32) or n == 0:
        raise InvalidSignal(f"{NAME} value has the wrong length for {n} keypoints")
    points = np.frombuffer(raw, dtype="<f2", count=2 * n, offset=2).reshape(n, 2)
    descriptors = np.frombuffer(raw, dtype=np.uint8, offset=2 + 4 * n).reshape(n, 32)
    return points.astype(np.float32), descriptors
