"""`WordIndex`: local-feature matching whose lookup cost grows slowly with the bank (issue
#21): a bag of visual words with an inverted file, then the same geometric verification as
`LocalFeatureIndex` (index/local.py) on the few best candidates.

Each banked descriptor is filed under one word of a `Vocabulary` (index/vocabulary.py: a
binary tree of ORB descriptors, trained on benign pictures, never on banked material); a
stored image is listed once under each distinct word of its descriptors. A query descriptor
takes its `SOFT` nearest words (ORB bits flip under crops, scaling and re-encoding, so a
descriptor and its copy do not always land on one leaf), leaving out stop words (listed for
many times more images than the average word: `STOP_FACTOR`); every image listed under them
gets a vote (counted in C, _votes.c: the one part of a lookup whose cost grows with the bank),
and the images with at least `MIN_VOTES` votes, the `CANDIDATES` most voted first, are
verified: the query's descriptors are matched to the image's stored ones (nearest within
`local_index.MAX_HAMMING` bits), and the pairs must agree on one similarity transform
(RANSAC, `local_index.agreeing`), exactly as today's index decides a match. The distance is
`100 - inliers`, as for every local-features match.

Storage, for a million images: identical values share one stored copy (as in index/local.py).
What the index is built with (`WordIndex.build`) or loaded from a snapshot (`WordIndex.open`,
memory-mapped: one copy per host, however many processes) is a `WordArrays`, plain arrays
with no Python object per image: the inverted file (CSR: word -> copy numbers), each copy's
keypoints and descriptors (for verification: read only for candidates), its value's digest,
and the entries (sorted, as matching/entries.py keeps them). Adds after that go to a small
second part (a delta inverted file, dictionaries); removes are a mask. `freeze` and
`write_arrays` give both parts back as one `WordArrays` for the next snapshot.
"""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safeguard.index import _votes
from safeguard.index import local as local_index
from safeguard.index.vocabulary import Vocabulary
from safeguard.signals import local

#: nearest words a query descriptor votes through
SOFT = 3
#: votes an image needs to be verified at all
MIN_VOTES = 5
#: the most voted images verified per query
CANDIDATES = 8
#: pairs within MAX_HAMMING a candidate needs before RANSAC (as many as a match's inliers)
MIN_PAIRS = local.MIN_INLIERS
#: a word listed for more images than this many times the average word's is a stop word: a
#: query does not vote through it (it says little about any one image, and its long list
#: would be most of a lookup's cost: issue #21); chosen on the COCO train2017 photos only
STOP_FACTOR = 4
#: ... unless its list is this short (a small bank stops no word)
STOP_FLOOR = 1000
#: the delta's postings are re-sorted into one array once they grow by this share
_MERGE_SHARE = 8
_MIN_MERGE = 50_000
_CHUNK = 1 << 20  # rows copied at a time when a snapshot is written
#: the arrays of a `WordArrays`, as a snapshot stores them (<prefix>.<name>.npy)
ARRAYS = (
    "offsets",
    "postings",
    "starts",
    "points",
    "descriptors",
    "keys",
    "alive",
    "entry_ids",
    "entry_copies",
)


@dataclass(frozen=True)
class WordArrays:
    """One word index as arrays (numpy or memory-mapped), copy numbers 0..len(keys)-1."""

    vocabulary: str  # Vocabulary.digest of the vocabulary the words come from
    offsets: np.ndarray  # int64 (words + 1): copy numbers of word w: postings[offsets[w]:..]
    postings: np.ndarray  # uint32
    starts: np.ndarray  # int64 (copies + 1): copy c's keypoints: rows starts[c]:starts[c + 1]
    points: np.ndarray | list[np.ndarray]  # float16 (rows, 2), or parts of it to write
    descriptors: np.ndarray | list[np.ndarray]  # uint8 (rows, 32), likewise
    keys: np.ndarray  # uint8 (copies, 16): digest of each copy's value
    alive: np.ndarray  # bool (copies)
    entry_ids: np.ndarray  # int64 (entries), ascending
    entry_copies: np.ndarray  # int64 (entries): the copy of each

    @property
    def copies(self) -> int:
        return len(self.keys)


def _key(value: str) -> bytes:
    return hashlib.blake2b(value.encode(), digest_size=16).digest()


class _Postings:
    """word -> copy numbers added since the arrays: a CSR array and the adds after it."""

    def __init__(self, words: int) -> None:
        self.words = words
        self.offsets = np.zeros(words + 1, dtype=np.int64)
        self.ids = np.empty(0, dtype=np.uint32)
        self._added: list[tuple[np.ndarray, np.ndarray]] = []  # (words, copy numbers)
        self._delta: tuple[np.ndarray, np.ndarray] | None = None  # their CSR, built lazily
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
        words, copies = self.pairs()
        keep = alive[copies]
        self.offsets, self.ids = _csr(words[keep], copies[keep], self.words)
        self._added, self._delta, self._pending = [], None, 0

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (word, copy) posting, as two arrays."""
        words = np.concatenate([words_of(self.offsets)] + [w for w, _ in self._added])
        return words, np.concatenate([self.ids] + [c for _, c in self._added])

    def parts(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The inverted files (offsets, copy numbers) that hold these postings: the merged
        one and the adds since (sorted into one lazily)."""
        out = [(self.offsets, self.ids)] if len(self.ids) else []
        if self._added:
            if self._delta is None:
                w = np.concatenate([w for w, _ in self._added])
                c = np.concatenate([c for _, c in self._added])
                self._delta = _csr(w, c, self.words)
            out.append(self._delta)
        return out


def words_of(offsets: np.ndarray) -> np.ndarray:
    """The word of each posting of a CSR inverted file (int32), in posting order."""
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int32), np.diff(offsets))


def _csr(words: np.ndarray, copies: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(words, kind="stable")
    counts = np.bincount(words, minlength=n)
    return np.concatenate(([0], np.cumsum(counts))), copies[order].astype(np.uint32)


class WordIndex:
    """Same interface as `LocalFeatureIndex` (add, remove, query, query_many)."""

    def __init__(self, vocabulary: Vocabulary | None = None, base: WordArrays | None = None):
        self.vocabulary = vocabulary or Vocabulary.default()
        if base is None:
            base = _empty(self.vocabulary)
        elif base.vocabulary != self.vocabulary.digest:
            raise ValueError("the word index was filed under another vocabulary")
        self._base = base
        if isinstance(base.points, list) or isinstance(base.descriptors, list):
            raise ValueError("a word index is opened from whole arrays, not parts")
        self._points, self._descriptors = base.points, base.descriptors
        n = base.copies
        self._alive = np.zeros(max(1024, 2 * n), dtype=bool)
        self._alive[:n] = base.alive
        self._next = n
        # the base's entries (removed ones masked), and its copies' entries, by copy
        self._base_live = np.ones(len(base.entry_ids), dtype=bool)
        order = np.argsort(base.entry_copies, kind="stable")
        self._by_copy = base.entry_ids[order]
        self._by_copy_at = np.searchsorted(base.entry_copies[order], np.arange(n + 1))
        self._base_count = len(base.entry_ids)  # live ones
        # the base's value digests, sorted (and the copy of each), made on the first add
        self._base_keys: tuple[np.ndarray, np.ndarray] | None = None
        # what was added since: entries, their copies' keys, records and postings
        self._entries: dict[int, int] = {}  # entry id -> copy
        self._groups: dict[int, set[int]] = {}  # copy -> entry ids added since
        self._keys: dict[bytes, int] = {}  # key -> copy (copies made since)
        self._key_of: dict[int, bytes] = {}
        self._stored: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # copy -> points, descs
        self._postings = _Postings(self.vocabulary.size)

    @classmethod
    def build(
        cls, entries: Iterable[tuple[int, str]], vocabulary: Vocabulary | None = None
    ) -> WordIndex:
        """An index of `entries`, all in arrays (the way to build a large one)."""
        vocabulary = vocabulary or Vocabulary.default()
        copy_of: dict[bytes, int] = {}
        keys: list[bytes] = []
        points: list[np.ndarray] = []
        descs: list[np.ndarray] = []
        entry_ids: list[int] = []
        entry_copies: list[int] = []
        for entry_id, value in entries:
            key = _key(value)
            copy = copy_of.get(key)
            if copy is None:
                copy = copy_of[key] = len(keys)
                p, d = local.decode(value)
                keys.append(key)
                points.append(p.astype(np.float16))
                descs.append(d)
            entry_ids.append(entry_id)
            entry_copies.append(copy)
        return cls(vocabulary, _arrays(vocabulary, keys, points, descs, entry_ids, entry_copies))

    @classmethod
    def open(cls, directory: Path, prefix: str, vocabulary: Vocabulary | None = None) -> WordIndex:
        """The index saved by `write_arrays`, memory-mapped (read, never written; keypoints
        and descriptors without read-ahead: a lookup reads a few images' rows, `_prefetch`)."""
        vocabulary = vocabulary or Vocabulary.default()
        loaded = {n: np.load(directory / f"{prefix}.{n}.npy", mmap_mode="r") for n in ARRAYS}
        for name in ("points", "descriptors"):  # read a few rows at a time
            _advise(loaded[name], mmap.MADV_RANDOM)
        digest = (directory / f"{prefix}.vocabulary").read_text().strip()
        return cls(vocabulary, WordArrays(digest, **loaded))

    def __len__(self) -> int:
        return self._base_count + len(self._entries)

    # -- changes ----------------------------------------------------------------------------

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        words, copies = [], []
        for entry_id, value in entries:
            key = _key(value)
            copy = self._copy_for(key)
            if copy is None:
                points, descriptors = local.decode(value)
                copy = self._next
                self._next += 1
                if copy >= len(self._alive):
                    self._alive = np.concatenate([self._alive, np.zeros_like(self._alive)])
                self._keys[key], self._key_of[copy] = copy, key
                self._stored[copy] = (points.astype(np.float16), descriptors)
                distinct = np.unique(self.vocabulary.words(descriptors))
                words.append(distinct)
                copies.append(np.full(len(distinct), copy, dtype=np.uint32))
            self._alive[copy] = True  # a base copy whose entries had all gone comes back
            self._entries[entry_id] = copy
            self._groups.setdefault(copy, set()).add(entry_id)
        if words:
            self._postings.add(np.concatenate(words), np.concatenate(copies), self._alive)

    def _copy_for(self, key: bytes) -> int | None:
        """The copy already holding a value of this key, if any."""
        copy = self._keys.get(key)
        if copy is not None:
            return copy
        if self._base_keys is None:
            digests = np.ascontiguousarray(self._base.keys).view("V16").ravel()
            order = np.argsort(digests, kind="stable")
            self._base_keys = (digests[order], order)
        digests, order = self._base_keys
        wanted = np.frombuffer(key, dtype="V16")[0]
        pos = int(np.searchsorted(digests, wanted))
        if pos < len(digests) and digests[pos] == wanted:
            return int(order[pos])
        return None

    def remove(self, entry_ids: Iterable[int]) -> None:
        base_ids = self._base.entry_ids
        for entry_id in entry_ids:
            copy = self._entries.pop(entry_id, None)
            if copy is not None:
                self._groups[copy].discard(entry_id)
            else:
                pos = int(np.searchsorted(base_ids, entry_id))
                if pos >= len(base_ids) or base_ids[pos] != entry_id or not self._base_live[pos]:
                    continue
                self._base_live[pos] = False
                self._base_count -= 1
                copy = int(self._base.entry_copies[pos])
            if not self._entries_of(copy):
                self._alive[copy] = False
                self._groups.pop(copy, None)
                key = self._key_of.pop(copy, None)
                if key is not None:  # a copy made since: its postings go at the next merge
                    del self._keys[key], self._stored[copy]

    def _entries_of(self, copy: int) -> list[int]:
        out = list(self._groups.get(copy, ()))
        if copy < self._base.copies:
            a, b = self._by_copy_at[copy], self._by_copy_at[copy + 1]
            for entry_id in self._by_copy[a:b]:
                pos = int(np.searchsorted(self._base.entry_ids, entry_id))
                if self._base_live[pos]:
                    out.append(int(entry_id))
        return out

    # -- lookups ----------------------------------------------------------------------------

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        return self.query_many([value], max_distance)[0]

    def query_many(self, values: Sequence[str], max_distance: int) -> list[list[tuple[int, int]]]:
        if not self._alive[: self._next].any():
            return [[] for _ in values]
        return [self._query(*local.decode(v), max_distance) for v in values]

    def _query(
        self, points: np.ndarray, descriptors: np.ndarray, max_distance: int
    ) -> list[tuple[int, int]]:
        sources = self._sources()
        words = self._voting_words(descriptors, sources)
        found, counted = _votes.count(
            sources, words, self._alive.view(np.uint8), self._next, MIN_VOTES
        )
        copies = np.frombuffer(found, dtype=np.uint32)
        votes = np.frombuffer(counted, dtype=np.uint8)
        # the most voted first (then the oldest copy), at most CANDIDATES of them
        ranked = copies[np.lexsort((copies, -votes.astype(np.int16)))][:CANDIDATES]
        self._prefetch(ranked)
        hits: list[tuple[int, int]] = []
        import faiss  # loaded with the first query, not with the package

        for copy in ranked:
            stored_points, stored = self._record(int(copy))
            distances, nearest = faiss.knn_hamming(descriptors, stored, 1)
            close = np.flatnonzero(distances[:, 0] <= local_index.MAX_HAMMING)
            if len(close) < MIN_PAIRS:
                continue
            src = points[close]
            dst = stored_points[nearest[close, 0]].astype(np.float32)
            distance = max(0, 100 - local_index.agreeing(src, dst))
            if distance <= max_distance:
                hits.extend((entry_id, distance) for entry_id in self._entries_of(int(copy)))
        return hits

    def _sources(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The inverted files (offsets, copy numbers) a lookup votes in."""
        return [(self._base.offsets, self._base.postings), *self._postings.parts()]

    def voting_words(self, descriptors: np.ndarray) -> np.ndarray:
        """The words a query of these descriptors votes through: each descriptor's `SOFT`
        nearest, once each, stop words left out."""
        return self._voting_words(descriptors, self._sources())

    def _voting_words(
        self, descriptors: np.ndarray, sources: list[tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        words = np.unique(self.vocabulary.nearest_words(descriptors, SOFT))
        listed = sum(offsets[words + 1] - offsets[words] for offsets, _ in sources)
        average = sum(len(postings) for _, postings in sources) / self.vocabulary.size
        return words[listed <= max(STOP_FLOOR, STOP_FACTOR * average)]

    def _prefetch(self, copies: np.ndarray) -> None:
        """Ask the kernel for the mapped keypoints of these copies all at once (read from
        disk together, not one after another as verification reaches them)."""
        starts, n = self._base.starts, self._base.copies
        rows = [(int(starts[c]), int(starts[c + 1])) for c in copies if c < n]
        if rows:
            _advise(self._points, mmap.MADV_WILLNEED, rows)
            _advise(self._descriptors, mmap.MADV_WILLNEED, rows)

    def _record(self, copy: int) -> tuple[np.ndarray, np.ndarray]:
        if copy in self._stored:
            return self._stored[copy]
        a, b = self._base.starts[copy], self._base.starts[copy + 1]
        return self._points[a:b], np.ascontiguousarray(self._descriptors[a:b])

    # -- snapshots --------------------------------------------------------------------------

    def freeze(self) -> WordArrays:
        """Everything as one `WordArrays`, to write with `write_arrays`: keypoints and
        descriptors as parts (the base's, mapped, and those added since), written one after
        the other; the inverted file is rebuilt in memory (about 1 KB an image)."""
        base, n = self._base, self._next
        own = sorted(self._stored)
        words, copies = self._postings.pairs()
        keep = self._alive[copies]
        offsets, postings = _csr(
            np.concatenate([words_of(base.offsets), words[keep]]),
            np.concatenate([np.asarray(base.postings), copies[keep]]),
            self.vocabulary.size,
        )
        counts = np.zeros(n, dtype=np.int64)
        counts[: base.copies] = np.diff(base.starts)
        for c in own:
            counts[c] = len(self._stored[c][0])
        starts = np.concatenate(([0], np.cumsum(counts)))
        keys = np.zeros((n, 16), dtype=np.uint8)
        keys[: base.copies] = base.keys
        for c in own:
            keys[c] = np.frombuffer(self._key_of[c], dtype=np.uint8)
        entries = [
            (int(e), int(c))
            for e, c, live in zip(base.entry_ids, base.entry_copies, self._base_live, strict=True)
            if live
        ]
        entries += list(self._entries.items())
        entries.sort()
        return WordArrays(
            self.vocabulary.digest,
            offsets,
            postings,
            starts,
            [self._points] + [self._stored[c][0] for c in own],
            [self._descriptors] + [self._stored[c][1] for c in own],
            keys,
            self._alive[:n].copy(),
            np.array([e for e, _ in entries], dtype=np.int64),
            np.array([c for _, c in entries], dtype=np.int64),
        )

    def nbytes(self) -> int:
        """Bytes held in memory (memory-mapped arrays not counted: the page cache holds them
        once per host)."""
        base = self._base
        held = sum(a.nbytes for n in ARRAYS if not isinstance(a := getattr(base, n), np.memmap))
        stored = sum(p.nbytes + d.nbytes for p, d in self._stored.values())
        own = [self._alive, self._base_live, self._by_copy, self._by_copy_at]
        own += list(self._base_keys or ())
        return held + stored + sum(a.nbytes for a in own) + 4 * len(self._postings)


def _advise(array: np.ndarray, advice: int, rows: list[tuple[int, int]] | None = None) -> None:
    """madvise a memory-mapped array (whole, or the byte ranges of some row spans); nothing
    for an array in memory."""
    mapped = getattr(array, "_mmap", None)
    if not isinstance(mapped, mmap.mmap):
        return
    at = int(getattr(array, "offset", 0)) % mmap.ALLOCATIONGRANULARITY  # its start in the map
    if rows is None:
        mapped.madvise(advice)
        return
    row = array.strides[0]
    for a, b in rows:
        start = at + a * row
        aligned = start - start % mmap.PAGESIZE
        mapped.madvise(advice, aligned, at + b * row - aligned)


def write_arrays(arrays: WordArrays, directory: Path, prefix: str) -> list[str]:
    """Save `arrays` as `<prefix>.<name>.npy` files (and the vocabulary's digest); their
    names."""
    names = []
    for n in ARRAYS:
        path = directory / f"{prefix}.{n}.npy"
        value = getattr(arrays, n)
        if isinstance(value, list):  # parts, one after the other, a chunk at a time
            rows = sum(len(p) for p in value)
            out = np.lib.format.open_memmap(path, "w+", value[0].dtype, (rows, *value[0].shape[1:]))
            at = 0
            for part in value:
                for i in range(0, len(part), _CHUNK):
                    chunk = np.asarray(part[i : i + _CHUNK])
                    out[at : at + len(chunk)] = chunk
                    at += len(chunk)
            out.flush()
            del out
        else:
            with open(path, "wb") as fh:
                np.save(fh, np.ascontiguousarray(value), allow_pickle=False)
        names.append(path.name)
    (directory / f"{prefix}.vocabulary").write_text(arrays.vocabulary + "\n")
    return [*names, f"{prefix}.vocabulary"]


def _empty(vocabulary: Vocabulary) -> WordArrays:
    return _arrays(vocabulary, [], [], [], [], [])


def _arrays(
    vocabulary: Vocabulary,
    keys: list[bytes],
    points: list[np.ndarray],
    descs: list[np.ndarray],
    entry_ids: list[int],
    entry_copies: list[int],
) -> WordArrays:
    counts = np.array([len(p) for p in points], dtype=np.int64)
    all_descs = np.concatenate(descs) if descs else np.empty((0, 32), dtype=np.uint8)
    words = vocabulary.words(all_descs) if len(all_descs) else np.empty(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(keys), dtype=np.int64), counts)
    # each copy listed once under each of its distinct words
    pairs = np.unique(owner * vocabulary.size + words) if len(words) else words
    offsets, postings = _csr(pairs % vocabulary.size, pairs // vocabulary.size, vocabulary.size)
    order = np.argsort(np.array(entry_ids, dtype=np.int64), kind="stable")
    return WordArrays(
        vocabulary.digest,
        offsets,
        postings,
        np.concatenate(([0], np.cumsum(counts))),
        np.concatenate(points) if points else np.empty((0, 2), dtype=np.float16),
        all_descs,
        np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 16).copy(),
        np.ones(len(keys), dtype=bool),
        np.array(entry_ids, dtype=np.int64)[order],
        np.array(entry_copies, dtype=np.int64)[order],
    )
