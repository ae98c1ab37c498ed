"""`LocalFeatureIndex`: find banked images that share a geometrically consistent set of
keypoints with a query (crops, small rotations, rescaling, frames).

Stored descriptors sit in a faiss binary inverted-file index: each is filed under the
nearest of 2,048 binary centroids, and a query descriptor reads the `PROBES` lists nearest to
it. The centroids are fixed (trained once on generic photos by tools/orb_centroids.py and
shipped in index/data/), so adds and removes are incremental, every process files the same
way, and nothing is ever retrained. A query's descriptors each take their `NEIGHBOURS`
nearest stored descriptors within `MAX_HAMMING` bits, at most one per stored image; an image
with at least `MIN_VOTES` such pairs is verified with RANSAC: the pairs must agree on one
similarity transform (rotation, uniform scale, translation; OpenCV's
`estimateAffinePartial2D`) within `REPROJECTION_PX`, at a plausible scale. The number that
agree is the evidence; see signals/local.py for the distance.

Identical values (one image in several banks) share one stored copy, keyed by a 16-byte
digest of the value, so duplicates never compete for a query's neighbours. A stored copy's
keypoint k has faiss id `copy number * 512 + k`, so a hit names its image and keypoint with
no lookup table. Each image holds about 12 KB (descriptors in faiss, ids, points). A batch
of queries (a lookup's own features and its mirror image's, many lookups) is searched in one
faiss call. Measured in docs/evaluation.md and docs/benchmarks.md ("Local features").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from importlib.resources import files
from typing import Any

import numpy as np

from safeguard.signals import local

NEIGHBOURS = 3
MAX_HAMMING = 40
MIN_VOTES = 8
REPROJECTION_PX = 4.0
SCALE_RANGE = (0.2, 5.0)
PROBES = 8
_SLOT = 512  # faiss ids per stored copy: more than local.FEATURES
assert local.FEATURES <= _SLOT


def _centroids() -> np.ndarray:
    with files("safeguard.index").joinpath("data/orb-centroids.npy").open("rb") as f:
        return np.load(f)


class LocalFeatureIndex:
    def __init__(self) -> None:
        self._entries: dict[int, bytes] = {}  # entry id -> key of its value
        self._groups: dict[bytes, set[int]] = {}  # key -> entry ids holding that value
        self._copies: dict[int, tuple[np.ndarray, bytes]] = {}  # copy number -> points, key
        self._copy_of: dict[bytes, int] = {}  # key -> copy number
        self._next = 0
        self._faiss: Any = None  # made with the first stored image (`_ivf`)

    def _ivf(self) -> Any:
        """The faiss inverted-file index, made when the first image is stored: faiss loads
        then, not with the package (about 0.1 s at the start of every command)."""
        if self._faiss is None:
            import faiss

            quantizer = faiss.IndexBinaryFlat(256)
            quantizer.add(_centroids())
            self._faiss = faiss.IndexBinaryIVF(quantizer, 256, quantizer.ntotal)
            self._faiss.is_trained = True
            self._faiss.nprobe = PROBES
            self._quantizer = quantizer  # faiss does not own it: keep it alive
        return self._faiss

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        new_desc, new_ids = [], []
        for entry_id, value in entries:
            key = hashlib.blake2b(value.encode(), digest_size=16).digest()
            if key not in self._copy_of:
                points, descriptors = local.decode(value)
                copy = self._next
                self._next += 1
                self._copies[copy] = (points, key)
                self._copy_of[key] = copy
                new_desc.append(descriptors)
                new_ids.append(copy * _SLOT + np.arange(len(descriptors), dtype=np.int64))
            self._entries[entry_id] = key
            self._groups.setdefault(key, set()).add(entry_id)
        if new_desc:
            self._ivf().add_with_ids(
                np.ascontiguousarray(np.concatenate(new_desc)), np.concatenate(new_ids)
            )

    def remove(self, entry_ids: Iterable[int]) -> None:
        gone = []
        for entry_id in entry_ids:
            key = self._entries.pop(entry_id, None)
            if key is None:
                continue
            group = self._groups[key]
            group.discard(entry_id)
            if not group:
                del self._groups[key]
                copy = self._copy_of.pop(key)
                del self._copies[copy]
                gone.append(copy)
        if gone:
            import faiss

            ids = np.concatenate([c * _SLOT + np.arange(_SLOT, dtype=np.int64) for c in gone])
            self._faiss.remove_ids(faiss.IDSelectorBatch(len(ids), faiss.swig_ptr(ids)))

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        return self.query_many([value], max_distance)[0]

    def query_many(self, values: Sequence[str], max_distance: int) -> list[list[tuple[int, int]]]:
        if not self._copies or not values:
            return [[] for _ in values]
        decoded = [local.decode(v) for v in values]
        # one search for every value's descriptors: far fewer faiss calls (and thread
        # start-ups) than one per value
        distances, ids = self._faiss.search(
            np.ascontiguousarray(np.concatenate([d for _, d in decoded])), NEIGHBOURS
        )
        found, start = [], 0
        for points, descriptors in decoded:
            end = start + len(descriptors)
            found.append(self._verify(points, distances[start:end], ids[start:end], max_distance))
            start = end
        return found

    def _verify(
        self, points: np.ndarray, distances: np.ndarray, ids: np.ndarray, max_distance: int
    ) -> list[tuple[int, int]]:
        """The entries whose stored keypoints agree with a query's (its points, and the
        nearest stored descriptors of each of its descriptors)."""
        pairs: dict[int, list[tuple[int, int]]] = {}  # copy -> (query kp, stored kp)
        for qi in range(len(points)):
            seen = set()
            for d, found in zip(distances[qi], ids[qi], strict=True):
                if found < 0 or d > MAX_HAMMING:
                    break
                copy = int(found) // _SLOT
                if copy not in seen:
                    seen.add(copy)
                    pairs.setdefault(copy, []).append((qi, int(found) % _SLOT))
        hits: list[tuple[int, int]] = []
        for copy, matched in pairs.items():
            if len(matched) < MIN_VOTES or copy not in self._copies:
                continue
            stored, key = self._copies[copy]
            src = points[[q for q, _ in matched]]
            dst = stored[[k for _, k in matched]]
            distance = max(0, 100 - agreeing(src, dst))
            if distance <= max_distance:
                hits.extend((entry_id, distance) for entry_id in self._groups[key])
        return hits


def agreeing(src: np.ndarray, dst: np.ndarray) -> int:
    """How many point pairs agree on one similarity transform at a plausible scale."""
    import cv2

    transform, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX
    )
    if transform is None:
        return 0
    scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
    if not SCALE_RANGE[0] < scale < SCALE_RANGE[1]:
        return 0
    return int(mask.sum())
