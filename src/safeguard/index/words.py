"""`WordIndex`: local-feature matching whose lookup cost grows slowly with the bank (issue
#21): a bag of visual words with an inverted file, then the same geometric verification as
`LocalFeatureIndex` (index/local.py) on the few best candidates.

Each banked descriptor is filed under one word of a `Vocabulary` (index/vocabulary.py: a
binary tree of ORB descriptors, trained on benign pictures, never on banked material); a
stored image is listed once under each distinct word of its descriptors. A query descriptor
takes its `SOFT` nearest words (ORB bits flip under crops, scaling and re-encoding, so a
descriptor and its copy do not always land on one leaf), every image listed under them gets
a vote, and the images with at least `MIN_VOTES` votes, the `CANDIDATES` most voted first,
are verified: the query's descriptors are matched to the image's stored ones (nearest within
`local_index.MAX_HAMMING` bits), and the pairs must agree on one similarity transform
(RANSAC, `local_index.agreeing`), exactly as today's index decides a match. The distance is
`100 - inliers`, as for every local-features match.

The inverted file is a CSR array (word -> copy numbers, uint32) with a small second one for
what was added since it was built; the second is merged into the first once it holds an
eighth as many postings. A removed image is dropped from the candidates at once and from the
postings at the next merge. Identical values share one stored copy, as in index/local.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import faiss
import numpy as np

from safeguard.index import local as local_index
from safeguard.index.vocabulary import Vocabulary
from safeguard.signals import local

#: nearest words a query descriptor votes through
SOFT = 2
#: votes an image needs to be verified at all
MIN_VOTES = 8
#: the most voted images verified per query
CANDIDATES = 8
#: pairs within MAX_HAMMING a candidate needs before RANSAC (as many as a match's inliers)
MIN_PAIRS = local.MIN_INLIERS
#: the delta is merged into the main postings once it holds this share of them
_MERGE_SHARE = 8
_MIN_MERGE = 50_000


class _Postings:
    """word -> copy numbers: a CSR array and a delta of later adds."""

    def __init__(self, words: int) -> None:
        self.words = words
        self.offsets = np.zeros(words + 1, dtype=np.int64)
        self.ids = np.empty(0, dtype=np.uint32)
        self._added: list[tuple[np.ndarray, np.ndarray]] = []  # (words, copy numbers)
        self._delta: tuple[np.ndarray, np.ndarray] | None = None  # its CSR, built lazily
        self._pending = 0

    def __len__(self) -> int:
        return len(self.ids) + self._pending

    def add(self, words: np.ndarray, copies: np.ndarray, alive: np.ndarray) -> None:
        self._added.append((words.astype(np.int32), copies))
        self._pending += len(words)
        self._delta = None
        if self._pending >= max(_MIN_MERGE, len(self.ids) // _MERGE_SHARE):
            self.merge(alive)

    def merge(self, alive: np.ndarray) -> None:
        """One CSR of everything, without the postings of copies no longer `alive`."""
        words = np.concatenate(
            [np.repeat(np.arange(self.words, dtype=np.int32), np.diff(self.offsets))]
            + [w for w, _ in self._added]
        )
        copies = np.concatenate([self.ids] + [c for _, c in self._added])
        keep = alive[copies]
        self.offsets, self.ids = _csr(words[keep], copies[keep], self.words)
        self._added, self._delta, self._pending = [], None, 0

    def gather(self, words: np.ndarray) -> np.ndarray:
        """The copy numbers listed under `words` (with repeats), main part and delta."""
        parts = [_take(self.offsets, self.ids, words)]
        if self._added:
            if self._delta is None:
                w = np.concatenate([w for w, _ in self._added])
                c = np.concatenate([c for _, c in self._added])
                self._delta = _csr(w, c, self.words)
            parts.append(_take(*self._delta, words))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def nbytes(self) -> int:
        return self.offsets.nbytes + self.ids.nbytes + 4 * self._pending


def _csr(words: np.ndarray, copies: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(words, kind="stable")
    counts = np.bincount(words, minlength=n)
    return np.concatenate(([0], np.cumsum(counts))), copies[order].astype(np.uint32)


def _take(offsets: np.ndarray, ids: np.ndarray, words: np.ndarray) -> np.ndarray:
    """ids[offsets[w]:offsets[w+1]] for every w in `words`, concatenated, without a loop."""
    starts, ends = offsets[words], offsets[words + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.empty(0, dtype=np.uint32)
    # position k of the output reads ids[starts[j] + (k - first output position of j)]
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return ids[np.arange(total, dtype=np.int64) + shift]


class WordIndex:
    """Same interface as `LocalFeatureIndex` (add, remove, query, query_many)."""

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary or Vocabulary.default()
        self._entries: dict[int, bytes] = {}  # entry id -> key of its value
        self._groups: dict[bytes, set[int]] = {}  # key -> entry ids holding that value
        self._copy_of: dict[bytes, int] = {}  # key -> copy number
        self._key_of: dict[int, bytes] = {}  # copy number -> key
        self._stored: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # copy -> points, descs
        self._alive = np.zeros(1024, dtype=bool)
        self._next = 0
        self._postings = _Postings(self.vocabulary.size)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        words, copies = [], []
        for entry_id, value in entries:
            key = hashlib.blake2b(value.encode(), digest_size=16).digest()
            if key not in self._copy_of:
                points, descriptors = local.decode(value)
                copy = self._next
                self._next += 1
                self._copy_of[key], self._key_of[copy] = copy, key
                self._stored[copy] = (points, descriptors)
                if copy >= len(self._alive):
                    self._alive = np.concatenate([self._alive, np.zeros_like(self._alive)])
                self._alive[copy] = True
                distinct = np.unique(self.vocabulary.words(descriptors))
                words.append(distinct)
                copies.append(np.full(len(distinct), copy, dtype=np.uint32))
            self._entries[entry_id] = key
            self._groups.setdefault(key, set()).add(entry_id)
        if words:
            self._postings.add(np.concatenate(words), np.concatenate(copies), self._alive)

    def remove(self, entry_ids: Iterable[int]) -> None:
        for entry_id in entry_ids:
            key = self._entries.pop(entry_id, None)
            if key is None:
                continue
            group = self._groups[key]
            group.discard(entry_id)
            if not group:
                del self._groups[key]
                copy = self._copy_of.pop(key)
                del self._key_of[copy], self._stored[copy]
                self._alive[copy] = False

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        return self.query_many([value], max_distance)[0]

    def query_many(self, values: Sequence[str], max_distance: int) -> list[list[tuple[int, int]]]:
        if not self._stored:
            return [[] for _ in values]
        return [self._query(*local.decode(v), max_distance) for v in values]

    def _query(
        self, points: np.ndarray, descriptors: np.ndarray, max_distance: int
    ) -> list[tuple[int, int]]:
        words = np.unique(self.vocabulary.nearest_words(descriptors, SOFT))
        listed = self._postings.gather(words)
        if not len(listed):
            return []
        votes = np.bincount(listed, minlength=self._next)
        votes[~self._alive[: len(votes)]] = 0
        enough = np.flatnonzero(votes >= MIN_VOTES)
        if len(enough) > CANDIDATES:
            enough = enough[np.argpartition(votes[enough], -CANDIDATES)[-CANDIDATES:]]
        hits: list[tuple[int, int]] = []
        for copy in enough[np.argsort(-votes[enough], kind="stable")]:
            stored_points, stored = self._stored[int(copy)]
            distances, nearest = faiss.knn_hamming(descriptors, stored, 1)
            close = np.flatnonzero(distances[:, 0] <= local_index.MAX_HAMMING)
            if len(close) < MIN_PAIRS:
                continue
            src = points[close]
            dst = stored_points[nearest[close, 0]]
            distance = max(0, 100 - local_index.agreeing(src, dst))
            if distance <= max_distance:
                key = self._key_of[int(copy)]
                hits.extend((entry_id, distance) for entry_id in self._groups[key])
        return hits

    def nbytes(self) -> int:
        """Bytes held: postings, and the points and descriptors kept for verification."""
        stored = sum(p.nbytes + d.nbytes for p, d in self._stored.values())
        return self._postings.nbytes() + stored + self._alive.nbytes
