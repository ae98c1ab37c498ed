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

ORB is not mirror-invariant: a mirror image's descriptors differ from the original's. So a
lookup also carries the features of the query's mirror image (`extract_with_mirror`),
named `MIRROR` as the PDQ variant of a left-right flip is: the keypoints found on the image,
moved to their mirrored positions (with their mirrored orientations), and described again
on the flipped picture. Detection is not repeated, so this adds about a quarter to the
extraction, where a second full ORB pass would double it. Banks keep only the direct features.

Matching lives in `safeguard.index.local`. Distance is `100 - inliers` (floored at 0), where
inliers are the keypoints that agree on one similarity transform, so smaller is closer as for
every other signal; a match needs at least `MIN_INLIERS` (distance <= `MAX_DISTANCE`).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from safeguard.errors import ConfigError, InvalidSignal
from safeguard.signals.base import Hashed, SignalType

if TYPE_CHECKING:
    import cv2

    from safeguard.index.base import SignalIndex

NAME = "local"
#: the query variant of the mirror image's features: the name the PDQ variants give a
#: left-right flip (signals/variants.py)
MIRROR = "flip_h"
SIDE = 512
FEATURES = 256
MIN_INLIERS = 20
#: distance is 100 - inliers: a match needs at least MIN_INLIERS agreeing keypoints
MAX_DISTANCE = 100 - MIN_INLIERS
_PREFIX = "v1:"
#: banked images from which the word index is built instead of LocalFeatureIndex
WORDS_FROM = 20_000
_ORB = None


def _orb():
    global _ORB
    import cv2  # OpenCV loads only where local features are computed (~0.1 s)

    if _ORB is None:  # created lazily: one per process (hashing runs on a process pool)
        _ORB = cv2.ORB_create(nfeatures=FEATURES, fastThreshold=10)
    return _ORB


def extract(pixels: np.ndarray) -> str | None:
    """The local-features value of HxWx3 RGB pixels, or None when too few keypoints (a flat
    or tiny image) to match on, or OpenCV cannot process the image (PDQ still matches)."""
    found = _detect(pixels)
    return None if found is None else _value(*found[1:])


def extract_with_mirror(pixels: np.ndarray) -> tuple[str | None, str | None]:
    """(value, value of the image's left-right mirror), each None as for `extract`. The
    mirror's keypoints are the image's, reflected; only their descriptors are computed again,
    on the flipped picture."""
    found = _detect(pixels)
    if found is None:
        return None, None
    grey, keypoints, descriptors = found
    value = _value(keypoints, descriptors)
    if value is None:
        return None, None
    import cv2

    try:
        flipped = _orb().compute(cv2.flip(grey, 1), _reflect(keypoints, grey.shape[1]))
    except cv2.error:
        return value, None
    return value, _value(*flipped)


def _detect(
    pixels: np.ndarray,
) -> tuple[np.ndarray, Sequence[cv2.KeyPoint], np.ndarray | None] | None:
    """(the greyscale picture scaled to SIDE, its ORB keypoints, their descriptors), or None
    when OpenCV cannot process the image."""
    import cv2

    try:
        grey = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        scale = SIDE / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        grey = cv2.resize(grey, size, interpolation=shrink)
        keypoints, descriptors = _orb().detectAndCompute(grey, None)
    except cv2.error:
        return None
    return grey, keypoints, descriptors


def _reflect(keypoints: Sequence[cv2.KeyPoint], width: int) -> list[cv2.KeyPoint]:
    """Keypoints as they sit in the left-right mirror of an image `width` pixels wide: x
    reflected, orientation turned from angle to 180 - angle."""
    import cv2

    return [
        cv2.KeyPoint(
            width - 1 - k.pt[0], k.pt[1], k.size, (180 - k.angle) % 360, k.response, k.octave
        )
        for k in keypoints
    ]


def _value(keypoints: Sequence[cv2.KeyPoint], descriptors: np.ndarray | None) -> str | None:
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


class LocalSignal(SignalType):
    """Local features as a signal type: computed from photos, searched by their own index,
    counted only for banks with `local_features` on. Values are about 12 KB, so they are not
    listable: never in hash lists or query parameters, kept in their own table."""

    name = NAME
    description = "local features (ORB keypoints): matches crops of a banked photo"
    content_types = ("photo",)
    exact = False
    default_threshold = MAX_DISTANCE
    max_threshold = MAX_DISTANCE
    listable = False
    bank_option = "local_features"

    @classmethod
    def validate(cls, value: str) -> str:
        decode(value)
        return value

    @classmethod
    def make_index(cls, ids: Sequence[int], values: Sequence[str]) -> SignalIndex:
        """The word index (index/words.py) for `WORDS_FROM` banked images or more, or when
        `SAFEGUARD_LOCAL_INDEX=words`; else today's `LocalFeatureIndex`
        (`SAFEGUARD_LOCAL_INDEX=features` keeps it at any size). Decided when an index is
        built (a start, a rebuild): a bank that grows past the size moves on at its next."""
        from safeguard import _env

        choice = _env.text("SAFEGUARD_LOCAL_INDEX", "auto")
        if choice not in {"auto", "words", "features"}:
            raise ConfigError(
                f"SAFEGUARD_LOCAL_INDEX must be auto, words or features, not {choice!r}"
            )
        if choice == "words" or (choice == "auto" and len(values) >= WORDS_FROM):
            from safeguard.index.words import WordIndex

            return WordIndex.build(zip(ids, values, strict=True))
        from safeguard.index.local import LocalFeatureIndex

        index = LocalFeatureIndex()
        index.add(zip(ids, values, strict=True))
        return index

    @classmethod
    def hash_pixels(cls, pixels: np.ndarray, *, variants: bool = False) -> Hashed | None:
        if not variants:
            value = extract(pixels)
            return None if value is None else Hashed(value)
        value, mirrored = extract_with_mirror(pixels)
        if value is None:
            return None
        return Hashed(value, None, {} if mirrored is None else {MIRROR: mirrored})
