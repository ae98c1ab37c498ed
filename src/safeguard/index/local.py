"""`LocalFeatureIndex`: find banked images that share a geometrically consistent set of
keypoints with a query (crops, small rotations, rescaling, frames).

Every stored descriptor sits in one faiss binary index (exact Hamming search). A query's
descriptors each take their `NEIGHBOURS` nearest stored descriptors within `MAX_HAMMING`
bits, at most one per stored image; an image with at least `MIN_VOTES` such pairs is verified
with RANSAC: the pairs must agree on one similarity transform (rotation, uniform scale,
translation; OpenCV's `estimateAffinePartial2D`) within `REPROJECTION_PX`, at a plausible
scale. The number that agree is the evidence; see signals/local.py for the distance.

Identical values (one image in several banks) share one stored copy, keyed by a 16-byte
digest of the value, so duplicates never compete for a query's neighbours. Adds and removes
mark the faiss index stale; it is rebuilt from the stored arrays on the next query. Each image
holds about 18 KB (descriptors twice, points) and a lookup scans every stored descriptor, so
this index suits banks of up to tens of thousands of images: measured in docs/benchmarks.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import cv2
import faiss
import numpy as np

from safeguard.signals import local

NEIGHBOURS = 3
MAX_HAMMING = 40
MIN_VOTES = 8
REPROJECTION_PX = 4.0
SCALE_RANGE = (0.2, 5.0)


class LocalFeatureIndex:
    def __init__(self) -> None:
        self._entries: dict[int, bytes] = {}  # entry id -> key of its value
        self._groups: dict[bytes, set[int]] = {}  # key -> entry ids holding that value
        self._sets: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}  # key -> points, descriptors
        self._faiss: faiss.IndexBinaryFlat | None = None
        self._owner = np.zeros(0, dtype=np.int64)  # faiss row -> position in _order
        self._starts = np.zeros(1, dtype=np.int64)  # first faiss row of each set in _order
        self._order: list[bytes] = []

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        for entry_id, value in entries:
            key = hashlib.blake2b(value.encode(), digest_size=16).digest()
            if key not in self._sets:
                self._sets[key] = local.decode(value)
                self._faiss = None
            self._entries[entry_id] = key
            self._groups.setdefault(key, set()).add(entry_id)

    def remove(self, entry_ids: Iterable[int]) -> None:
        for entry_id in entry_ids:
            key = self._entries.pop(entry_id, None)
            if key is None:
                continue
            group = self._groups[key]
            group.discard(entry_id)
            if not group:
                del self._groups[key], self._sets[key]
                self._faiss = None

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        return self.query_many([value], max_distance)[0]

    def query_many(self, values: Sequence[str], max_distance: int) -> list[list[tuple[int, int]]]:
        if not self._sets:
            return [[] for _ in values]
        self._ensure_built()
        return [self._query(v, max_distance) for v in values]

    def _ensure_built(self) -> None:
        if self._faiss is not None:
            return
        self._order = list(self._sets)
        descriptors = [self._sets[k][1] for k in self._order]
        sizes = [len(d) for d in descriptors]
        index = faiss.IndexBinaryFlat(256)
        index.add(np.ascontiguousarray(np.concatenate(descriptors)))
        self._owner = np.repeat(np.arange(len(self._order)), sizes)
        self._starts = np.concatenate([[0], np.cumsum(sizes)])
        self._faiss = index

    def _query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        points, descriptors = local.decode(value)
        assert self._faiss is not None
        distances, rows = self._faiss.search(np.ascontiguousarray(descriptors), NEIGHBOURS)
        pairs: dict[int, list[tuple[int, int]]] = {}  # stored image -> (query kp, stored row)
        for qi in range(len(descriptors)):
            seen = set()
            for d, row in zip(distances[qi], rows[qi], strict=True):
                if row < 0 or d > MAX_HAMMING:
                    break
                owner = int(self._owner[row])
                if owner not in seen:
                    seen.add(owner)
                    pairs.setdefault(owner, []).append((qi, int(row)))
        hits = []
        for owner, found in pairs.items():
            if len(found) < MIN_VOTES:
                continue
            key = self._order[owner]
            stored = self._sets[key][0]
            src = points[[q for q, _ in found]]
            dst = stored[[r - self._starts[owner] for _, r in found]]
            inliers = _agreeing(src, dst)
            distance = max(0, 100 - inliers)
            if distance <= max_distance:
                hits.extend((entry_id, distance) for entry_id in self._groups[key])
        return hits


def _agreeing(src: np.ndarray, dst: np.ndarray) -> int:
    """How many point pairs agree on one similarity transform at a plausible scale."""
    transform, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX
    )
    if transform is None:
        return 0
    scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
    if not SCALE_RANGE[0] < scale < SCALE_RANGE[1]:
        return 0
    return int(mask.sum())
