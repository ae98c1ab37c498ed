"""`Vocabulary`: the visual words of the word index (index/words.py), a binary vocabulary
tree of ORB descriptors (Nistér and Stewénius 2006, with binary centroids).

Three levels: the 2,048 coarse centroids shipped for today's index (index/data/
orb-centroids.npy), `BRANCHES[0]` children under each, and `BRANCHES[1]` under each of
those; a word is a leaf. A descriptor descends to the nearest centroid at each level
(Hamming distance); a query descriptor may also take its next-nearest leaves under the same
parent (`nearest_words`), since a copy's descriptor can fall just over a leaf's edge.

Centroids below the coarse level are trained by k-majority clustering (k-means where a
centroid is each bit's majority among its members) on descriptors of benign pictures,
never on banked material (`train`). The default vocabulary (`Vocabulary.default`) is
trained on the package's own synthetic scenes (safeguard.samples, seeds from
`CORPUS_SEEDS`, far from those the demo and tests use), each seen as `VARIANTS` copies
(cropped, rotated, re-encoded) as copies of a banked image are: no photo is needed, so a
bare install builds it, once per machine (about three minutes on one core; cached in the
user's cache folder, or at `SAFEGUARD_VOCABULARY`). Measured against a vocabulary trained
on real photos in docs/evaluation.md ("Local features at scale").
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import logging
import os
import threading
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import numpy as np

from safeguard import _env
from safeguard.index import _tree

log = logging.getLogger("safeguard.index")

BRANCHES = (16, 16)
#: the synthetic scenes the default vocabulary is trained on, and the copies of each
CORPUS_SEEDS = range(1_000_000, 1_001_000)
VARIANTS = 6
#: the default vocabulary's file name (a new version when its recipe changes)
FILE = "orb-vocabulary-v1.npz"
_ITERATIONS = 10
_CHUNK = 1 << 16  # descriptors filed at a time (in training each takes its children's rows)
_ZOOMS = (0.8, 0.65, 0.5, 0.4, 0.3)  # share of each side a cropped copy keeps
_ROTATIONS = (0.0, 7.0, 15.0, 30.0)
_loaded: dict[Path, Vocabulary] = {}  # by file: one copy per process
_loaded_lock = threading.Lock()


class Vocabulary:
    def __init__(self, coarse: np.ndarray, middle: np.ndarray, leaves: np.ndarray) -> None:
        """coarse (C, 32), middle (C, B1, 32), leaves (C * B1, B2, 32): uint8 centroids."""
        if middle.shape[0] != len(coarse) or leaves.shape[0] != len(coarse) * middle.shape[1]:
            raise ValueError("vocabulary levels do not fit together")
        self.coarse = np.ascontiguousarray(coarse, dtype=np.uint8)
        self.middle = np.ascontiguousarray(middle, dtype=np.uint8)
        self.leaves = np.ascontiguousarray(leaves, dtype=np.uint8)
        self.branches = (middle.shape[1], leaves.shape[1])
        self.size = len(coarse) * self.branches[0] * self.branches[1]
        digest = hashlib.sha256()
        for level in (self.coarse, self.middle, self.leaves):
            digest.update(repr(level.shape).encode())
            digest.update(level.tobytes())
        #: names this vocabulary (an index filed under another cannot be used with it)
        self.digest = digest.hexdigest()
        import faiss  # loaded with the first vocabulary, not with the package

        self._coarse_index = faiss.IndexBinaryFlat(256)
        self._coarse_index.add(self.coarse)

    def words(self, descriptors: np.ndarray) -> np.ndarray:
        """The word (leaf) of each descriptor, int64."""
        return self.nearest_words(descriptors, 1)[:, 0]

    def nearest_words(self, descriptors: np.ndarray, n: int) -> np.ndarray:
        """(len(descriptors), n) words: each descriptor's `n` nearest leaves under its
        nearest middle node, nearest first (equals: the first first; the descent is in C,
        _tree.c), a chunk at a time; fewer columns when a node has fewer leaves."""
        d = np.ascontiguousarray(descriptors, dtype=np.uint8)
        n = min(n, self.branches[1])
        if len(d) > _CHUNK:
            parts = [self.nearest_words(d[i : i + _CHUNK], n) for i in range(0, len(d), _CHUNK)]
            return np.concatenate(parts)
        _, top = self._coarse_index.search(d, 1)
        out = np.empty((len(d), n), dtype=np.int64)
        top = np.ascontiguousarray(top[:, 0])
        _tree.descend(d, top, self.middle, self.leaves, *self.branches, n, out)
        return out

    def save(self, path: Path) -> None:
        """Write the vocabulary to `path` (whole or not at all)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        with scratch.open("wb") as f:
            np.savez(f, coarse=self.coarse, middle=self.middle, leaves=self.leaves)
        os.replace(scratch, path)

    @classmethod
    def default(cls) -> Vocabulary:
        """The vocabulary at `SAFEGUARD_VOCABULARY`, or the default one in the user's cache
        folder; built there first when missing (one builder per machine at a time: the
        others wait for its file)."""
        path = default_path()
        with _loaded_lock:
            if path not in _loaded:
                _loaded[path] = cls.load_or_build(path)
            return _loaded[path]

    @classmethod
    def load_or_build(cls, path: Path) -> Vocabulary:
        if not path.exists():
            with _file_lock(path.with_name(path.name + ".lock")):
                if not path.exists():
                    log.warning(
                        "building the local-features vocabulary in %s (once per machine: "
                        "a few minutes)",
                        path,
                    )
                    corpus = synthetic_corpus(CORPUS_SEEDS, VARIANTS)
                    cls.train(corpus, branches=BRANCHES).save(path)
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        with np.load(path) as z:
            return cls(z["coarse"], z["middle"], z["leaves"])

    @classmethod
    def train(
        cls,
        descriptors: np.ndarray,
        *,
        branches: tuple[int, int] = BRANCHES,
        seed: int = 0,
        coarse: np.ndarray | None = None,
    ) -> Vocabulary:
        """A vocabulary trained on `descriptors` (benign pictures only), under the shipped
        coarse centroids unless `coarse` is given."""
        rng = np.random.default_rng(seed)
        top = shipped_coarse() if coarse is None else coarse
        import faiss

        index = faiss.IndexBinaryFlat(256)
        index.add(np.ascontiguousarray(top))
        d = np.ascontiguousarray(descriptors, dtype=np.uint8)
        _, assigned = index.search(d, 1)
        middle = _split(d, assigned[:, 0], top, branches[0], rng)
        flat = middle.reshape(-1, 32)
        top_of = assigned[:, 0]
        own = np.concatenate(
            [
                top_of[i : i + _CHUNK] * branches[0]
                + _nearest(d[i : i + _CHUNK], middle[top_of[i : i + _CHUNK]], 1)[:, 0]
                for i in range(0, len(d), _CHUNK)
            ]
        )
        leaves = _split(d, own, flat, branches[1], rng)
        return cls(top, middle, leaves)


def default_path() -> Path:
    given = _env.text("SAFEGUARD_VOCABULARY")
    if given:
        return Path(given).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("safeguard", appauthor=False)) / FILE


def synthetic_corpus(
    seeds: range = CORPUS_SEEDS, variants: int = VARIANTS, seed: int = 0
) -> np.ndarray:
    """ORB descriptors of the package's synthetic scenes, each also as cropped, rotated and
    re-encoded copies (the default vocabulary's training set)."""
    from PIL import Image

    from safeguard.samples import scene
    from safeguard.signals import local

    rng = np.random.default_rng(seed)
    out = []
    for s in seeds:
        im = scene(s)
        for v in range(variants):
            copy = im
            if v:
                rotation = float(rng.choice(_ROTATIONS)) * float(rng.choice((-1, 1)))
                if rotation:
                    copy = copy.rotate(rotation, Image.Resampling.BILINEAR, expand=True)
                w, h = copy.size
                zoom = float(rng.choice(_ZOOMS))
                cw, ch = round(w * zoom), round(h * zoom)
                x, y = round((w - cw) * rng.random()), round((h - ch) * rng.random())
                copy = copy.crop((x, y, x + cw, y + ch))
            buf = io.BytesIO()
            copy.save(buf, format="JPEG", quality=int(rng.integers(70, 96)))
            buf.seek(0)
            with Image.open(buf) as decoded:
                value = local.extract(np.asarray(decoded.convert("RGB")))
            if value is not None:
                out.append(local.decode(value)[1])
    return np.concatenate(out)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def shipped_coarse() -> np.ndarray:
    with files("safeguard.index").joinpath("data/orb-centroids.npy").open("rb") as f:
        return np.load(f)


def _nearest(d: np.ndarray, children: np.ndarray, n: int) -> np.ndarray:
    """For each row of `d` (m, 32), the positions of its `n` nearest among its own row of
    `children` (m, k, 32), nearest first."""
    dist = np.bitwise_count(d.view(np.uint64)[:, None, :] ^ children.view(np.uint64)).sum(axis=2)
    if n == 1:
        return dist.argmin(axis=1)[:, None]
    part = np.argpartition(dist, n - 1, axis=1)[:, :n]
    order = np.take_along_axis(dist, part, axis=1).argsort(axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _split(
    d: np.ndarray, owner: np.ndarray, parents: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """k children for each parent, by k-majority clustering of the descriptors it owns (a
    parent with fewer than k owns its own centroid, perturbed, where members are missing)."""
    out = np.empty((len(parents), k, 32), dtype=np.uint8)
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(parents) + 1))
    for p in range(len(parents)):
        members = d[order[bounds[p] : bounds[p + 1]]]
        out[p] = _kmajority(members, parents[p], k, rng)
    return out


def _kmajority(
    members: np.ndarray, parent: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    if len(members) < k:  # too few to learn from: pad with noisy copies of the parent
        noise = rng.random((k - len(members), 256)) < 0.1
        extra = np.packbits(np.unpackbits(parent)[None, :] ^ noise, axis=1)
        return np.concatenate([members, extra.astype(np.uint8)])[:k].copy()
    centroids = members[rng.choice(len(members), k, replace=False)].copy()
    bits = np.unpackbits(members, axis=1).astype(np.float32)
    for _ in range(_ITERATIONS):
        assign = _nearest(members, np.broadcast_to(centroids, (len(members), k, 32)), 1)[:, 0]
        onehot = (assign[None, :] == np.arange(k)[:, None]).astype(np.float32)
        counts = onehot.sum(axis=1)
        majority = np.packbits(onehot @ bits > counts[:, None] / 2, axis=1)
        centroids = np.where(counts[:, None] > 0, majority, centroids)
    return centroids
