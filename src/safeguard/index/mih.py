"""Exact PDQ range index by multi-index hashing (MIH), incremental, with snapshots.

Layout: a *static* part, built in one pass (hashes, entry ids, a live flag per row and one
key directory per table, see `layout.py`), plus a small *delta* (a linear index) that
takes adds at once. Removing an entry clears its live flag or drops it from the delta.
When the delta grows past `delta_limit`, a background thread rebuilds the static part
with the delta folded in and swaps it in; queries keep running meanwhile.

Queries are exact for any radius: the flip budgets come from the generalized pigeonhole
principle for that radius, and when MIH would cost more than a scan (large radius, small
bank) the static part is scanned instead. The probing kernel is C (`_mih.c`) and releases
the GIL, so threads can query in parallel.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from safeguard.index import _mih
from safeguard.index.layout import (
    BRUTE_NS,
    Layout,
    allocate_flips,
    choose_layout,
    flip_masks,
    query_cost,
)
from safeguard.index.linear import LinearPdqIndex
from safeguard.signals.pdq import pdq_to_words

SNAPSHOT_MAGIC = b"SGMIH001"
_SCAN_BLOCK = 2_000_000  # (queries x hashes) compared at once in a scan


@dataclass
class _Table:
    start: int
    length: int
    offsets: np.ndarray  # uint32[2^length + 1]
    rows: np.ndarray  # uint32[n]


@dataclass
class _Static:
    words: np.ndarray  # uint64[n, 4]
    ids: np.ndarray  # int64[n]
    live: np.ndarray  # uint8[n], writable
    tables: list[_Table]
    id_order: np.ndarray | None  # argsort of ids, None when ids are sorted
    sorted_ids: np.ndarray  # ids in ascending order (ids itself when already sorted)
    plans: dict[int, list[tuple[object, ...]]] = field(default_factory=dict)  # by radius

    @property
    def n(self) -> int:
        return len(self.ids)

    def row_of(self, entry_id: int) -> int | None:
        ids = self.sorted_ids
        pos = int(np.searchsorted(ids, entry_id))
        if pos < len(ids) and int(ids[pos]) == entry_id:
            return pos if self.id_order is None else int(self.id_order[pos])
        return None


def _make_static(
    words: np.ndarray, ids: np.ndarray, live: np.ndarray, tables: list[_Table]
) -> _Static:
    order = None if len(ids) < 2 or bool(np.all(ids[:-1] < ids[1:])) else np.argsort(ids)
    return _Static(
        words=words,
        ids=ids,
        live=live,
        tables=tables,
        id_order=order,
        sorted_ids=ids if order is None else ids[order],
    )


def _empty_static() -> _Static:
    return _make_static(
        np.zeros((0, 4), dtype=np.uint64),
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.uint8),
        [],
    )


def build_static(words: np.ndarray, ids: np.ndarray, layout: Layout, threads: int = 2) -> _Static:
    """Key directories for every table of `layout`, built in parallel threads."""
    words = np.ascontiguousarray(words, dtype=np.uint64)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    n = len(ids)

    def one(spec: tuple[int, int]) -> _Table:
        start, length = spec
        keys = np.empty(n, dtype=np.uint32)
        _mih.keys(words, start, length, keys)
        offsets = np.empty((1 << length) + 1, dtype=np.uint32)
        rows = np.empty(n, dtype=np.uint32)
        _mih.build_csr(keys, length, offsets, rows)
        return _Table(start, length, offsets, rows)

    with ThreadPoolExecutor(max(1, threads)) as pool:
        tables = list(pool.map(one, layout.tables))
    return _make_static(words, ids, np.ones(n, dtype=np.uint8), tables)


class MihPdqIndex:
    """Exact PDQ range index: `query(hex, max_distance)` returns every entry within it."""

    def __init__(
        self,
        *,
        design_radius: int = 31,
        layout: Layout | None = None,
        delta_limit: int = 20_000,
        build_threads: int = 2,
        background: bool = True,
    ) -> None:
        self.design_radius = design_radius
        self.layout = layout  # None: chosen from the bank size at every (re)build
        self.delta_limit = delta_limit
        self.build_threads = build_threads
        self.background = background
        self.version = 0  # set by the owner (for example the change-log head) and snapshots
        self._static = _empty_static()
        self._delta = LinearPdqIndex()
        self._dead = 0  # removed rows still in the static part
        self._lock = threading.RLock()
        self._compacting: threading.Thread | None = None
        self._removed_while_compacting: set[int] = set()
        self._added_while_compacting: set[int] = set()

    # -- building -----------------------------------------------------------------------

    @classmethod
    def build(cls, entries: Iterable[tuple[int, str]], **kwargs: object) -> MihPdqIndex:
        """An index over (entry id, PDQ hex) pairs, built in one pass."""
        ids: list[int] = []
        hexes: list[str] = []
        for entry_id, value in entries:
            ids.append(entry_id)
            hexes.append(value)
        return cls.from_words(pdq_to_words(hexes), np.array(ids, dtype=np.int64), **kwargs)

    @classmethod
    def from_words(cls, words: np.ndarray, ids: np.ndarray, **kwargs: object) -> MihPdqIndex:
        if len(np.unique(ids)) != len(ids):
            raise ValueError("entry ids must be unique")
        index = cls(**kwargs)  # type: ignore[arg-type]
        index._static = build_static(words, ids, index._layout_for(len(ids)), index.build_threads)
        return index

    def _layout_for(self, n: int) -> Layout:
        return self.layout or choose_layout(n, self.design_radius)

    # -- changes ------------------------------------------------------------------------

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        entries = list(entries)
        with self._lock:
            for entry_id, _ in entries:
                row = self._static.row_of(entry_id)
                if row is not None and self._static.live[row]:
                    raise ValueError(f"entry id {entry_id} is already in the index")
            self._delta.add(entries)
            if self._compacting is not None:
                self._added_while_compacting.update(entry_id for entry_id, _ in entries)
            full = len(self._delta) >= self.delta_limit
        if full:  # outside the lock: the compaction thread needs it to swap
            self.compact(wait=not self.background)

    def remove(self, entry_ids: Iterable[int]) -> None:
        with self._lock:
            for entry_id in entry_ids:
                if self._compacting is not None:
                    # the rebuild may have copied it already: drop it from the new part too
                    self._removed_while_compacting.add(entry_id)
                if self._delta.contains(entry_id):
                    self._delta.remove([entry_id])
                    continue
                row = self._static.row_of(entry_id)
                if row is not None and self._static.live[row]:
                    self._static.live[row] = 0
                    self._dead += 1

    def compact(self, wait: bool = True) -> None:
        """Rebuild the static part with the delta folded in and removed rows dropped."""
        with self._lock:
            if self._compacting is not None:
                if wait:
                    thread = self._compacting
                    self._lock.release()
                    try:
                        thread.join()
                    finally:
                        self._lock.acquire()
                return
            static, (delta_ids, delta_words) = self._static, self._delta.snapshot()
            keep = static.live.astype(bool)
            words = np.concatenate([static.words[keep], delta_words])
            ids = np.concatenate([static.ids[keep], delta_ids])
            self._removed_while_compacting = set()
            self._added_while_compacting = set()
            thread = threading.Thread(
                target=self._finish_compaction, args=(words, ids, delta_ids), daemon=True
            )
            self._compacting = thread
            thread.start()
        if wait:
            thread.join()

    def _finish_compaction(self, words: np.ndarray, ids: np.ndarray, folded: np.ndarray) -> None:
        try:
            order = np.argsort(ids, kind="stable")
            new = build_static(
                words[order], ids[order], self._layout_for(len(ids)), self.build_threads
            )
            with self._lock:
                for entry_id in self._removed_while_compacting:
                    row = new.row_of(entry_id)
                    if row is not None:
                        new.live[row] = 0
                self._dead = int(len(new.live) - int(new.live.sum()))
                self._static = new
                # drop what was folded in, but keep an id removed and added again meanwhile
                self._delta.remove(
                    i for i in map(int, folded) if i not in self._added_while_compacting
                )
        finally:
            with self._lock:
                self._compacting = None
                self._removed_while_compacting = set()
                self._added_while_compacting = set()

    # -- queries ------------------------------------------------------------------------

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        return self.query_many([value], max_distance)[0]

    def query_many(self, values: Sequence[str], max_distance: int) -> list[list[tuple[int, int]]]:
        """For each value, every (entry id, distance) within max_distance, nearest first."""
        return self.query_words(pdq_to_words(list(values)), max_distance)

    def query_words(self, q: np.ndarray, max_distance: int) -> list[list[tuple[int, int]]]:
        static = self._static  # a consistent snapshot even if a compaction swaps it
        qi, rows, dists = self._query_static(static, q, max_distance)
        out: list[list[tuple[int, int]]] = [[] for _ in range(len(q))]
        for i, entry_id, d in zip(
            qi.tolist(), static.ids[rows].tolist(), dists.tolist(), strict=True
        ):
            out[i].append((entry_id, d))
        with self._lock:
            delta_hits = self._delta.query_words(q, max_distance) if len(self._delta) else None
        if delta_hits is not None:
            for i, hits in enumerate(delta_hits):
                out[i].extend(hits)
        for hits in out:
            hits.sort(key=lambda h: (h[1], h[0]))
        return out

    def _query_static(
        self, static: _Static, q: np.ndarray, radius: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if static.n == 0 or radius < 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        plan = static.plans.get(radius)
        if plan is None:
            plan = static.plans[radius] = self._plan(static, radius)
        if not plan:
            return _scan(static, q, radius)
        qb, rb, db = _mih.query(static.words, static.live, plan, np.ascontiguousarray(q), radius)
        return (
            np.frombuffer(qb, dtype=np.uint32).astype(np.int64),
            np.frombuffer(rb, dtype=np.uint32).astype(np.int64),
            np.frombuffer(db, dtype=np.uint16).astype(np.int64),
        )

    def _plan(self, static: _Static, radius: int) -> list[tuple[object, ...]]:
        """The tables to probe, with how many flip masks each, for `radius` ([]: scan)."""
        n = static.n
        lengths = tuple(t.length for t in static.tables)
        flips = allocate_flips(n, lengths, radius) if lengths else None
        if flips is None or (self.layout is None and query_cost(n, lengths, radius) > BRUTE_NS * n):
            return []
        plan: list[tuple[object, ...]] = []
        for t, f in zip(static.tables, flips, strict=True):
            masks = flip_masks(t.length, max(f, 0))
            used = len(masks) if f >= 0 else 0  # f == -1: table not probed
            plan.append((t.start, t.length, t.offsets, t.rows, masks, used))
        return plan

    def __len__(self) -> int:
        return self._static.n - self._dead + len(self._delta)

    # -- snapshots ----------------------------------------------------------------------

    def save(self, path: str | Path) -> int:
        """Write a snapshot (arrays, live flags, version); returns its size in bytes.

        The delta is folded in first, so the file holds every entry in the static part."""
        while len(self._delta) or self._compacting is not None:
            self.compact(wait=True)
        return write_snapshot(self.freeze(), path, self.version)

    def freeze(self) -> FrozenMih:
        """A consistent view of the index for `write_snapshot`, taken in a moment (the live
        flags and the delta are copied; the static arrays never change once built), so a
        snapshot can be written while adds, removes and queries go on."""
        with self._lock:
            delta_ids, delta_words = self._delta.snapshot()
            return FrozenMih(
                self._static, self._static.live.copy(), delta_ids, delta_words, self.design_radius
            )

    @classmethod
    def load(cls, path: str | Path, **kwargs: object) -> MihPdqIndex:
        """Open a snapshot; the large arrays are memory-mapped, not read."""
        with open(path, "rb") as fh:
            magic = fh.read(len(SNAPSHOT_MAGIC))
            if magic != SNAPSHOT_MAGIC:
                raise ValueError(f"{path}: not a safeguard PDQ index snapshot")
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size))
        base = _aligned(len(SNAPSHOT_MAGIC) + 8 + size)

        def array(name: str) -> np.ndarray:
            spec = header["arrays"][name]
            return np.memmap(
                path,
                dtype=np.dtype(spec["dtype"]),
                mode="r",
                offset=base + spec["offset"],
                shape=tuple(spec["shape"]),
            )

        kwargs.setdefault("design_radius", header["design_radius"])
        index = cls(**kwargs)  # type: ignore[arg-type]
        ids = array("ids")
        live = np.array(array("live"))  # writable copy: removals flip it
        tables = [
            _Table(s, ln, array(f"offsets{i}"), array(f"rows{i}"))
            for i, (s, ln) in enumerate(header["tables"])
        ]
        index._static = _make_static(array("words"), ids, live, tables)
        index._dead = int(len(live) - int(live.sum()))
        index.version = header["version"]
        if "delta_ids" in header["arrays"]:
            delta_words = np.array(array("delta_words"))
            hexes = delta_words.astype(">u8").tobytes().hex()
            index._delta.add(
                (int(i), hexes[k * 64 : (k + 1) * 64])
                for k, i in enumerate(array("delta_ids").tolist())
            )
        return index

    @staticmethod
    def snapshot_version(path: str | Path) -> int:
        """The version recorded in a snapshot, read from its header alone."""
        with open(path, "rb") as fh:
            if fh.read(len(SNAPSHOT_MAGIC)) != SNAPSHOT_MAGIC:
                raise ValueError(f"{path}: not a safeguard PDQ index snapshot")
            size = int.from_bytes(fh.read(8), "little")
            return int(json.loads(fh.read(size))["version"])


@dataclass(frozen=True)
class FrozenMih:
    """What `MihPdqIndex.freeze` captured: the static part with a copy of its live flags,
    and the delta's entries."""

    static: _Static
    live: np.ndarray
    delta_ids: np.ndarray
    delta_words: np.ndarray
    design_radius: int


def write_snapshot(frozen: FrozenMih, path: str | Path, version: int) -> int:
    """Write a frozen index to `path` (through `path.partial`, renamed into place; flushed
    to disk before the rename); returns the size in bytes. Loaded by `MihPdqIndex.load`."""
    static = frozen.static
    arrays: dict[str, np.ndarray] = {"words": static.words, "ids": static.ids, "live": frozen.live}
    for i, t in enumerate(static.tables):
        arrays[f"offsets{i}"] = t.offsets
        arrays[f"rows{i}"] = t.rows
    if len(frozen.delta_ids):
        arrays["delta_ids"] = frozen.delta_ids
        arrays["delta_words"] = frozen.delta_words
    header: dict[str, object] = {
        "version": version,
        "design_radius": frozen.design_radius,
        "tables": [[t.start, t.length] for t in static.tables],
    }
    specs: dict[str, dict[str, object]] = {}
    offset = 0
    for name, a in arrays.items():
        specs[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset}
        offset += _aligned(a.nbytes)
    header["arrays"] = specs
    head = json.dumps(header).encode()
    base = _aligned(len(SNAPSHOT_MAGIC) + 8 + len(head))
    tmp = Path(str(path) + ".partial")
    with open(tmp, "wb") as fh:
        fh.write(SNAPSHOT_MAGIC + len(head).to_bytes(8, "little") + head)
        fh.write(b"\0" * (base - fh.tell()))
        for a in arrays.values():
            if a.size:
                # numpy's stubs give ndarray the buffer protocol on Python 3.12+ only
                fh.write(memoryview(np.ascontiguousarray(a)).cast("B"))  # type: ignore[arg-type]
            fh.write(b"\0" * (_aligned(a.nbytes) - a.nbytes))
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return Path(path).stat().st_size


def _aligned(n: int, to: int = 64) -> int:
    return (n + to - 1) // to * to


def _scan(static: _Static, q: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact brute-force scan of the static part (small banks, large radii), in blocks that
    bound the temporary arrays to about _SCAN_BLOCK comparisons."""
    qs, rs, ds = [], [], []
    rows_per = max(1, min(static.n, _SCAN_BLOCK))
    q_per = max(1, _SCAN_BLOCK // rows_per)
    for r0 in range(0, static.n, rows_per):
        stored = static.words[r0 : r0 + rows_per]
        live = static.live[r0 : r0 + rows_per].astype(bool)
        for q0 in range(0, len(q), q_per):
            chunk = q[q0 : q0 + q_per]
            dist = np.bitwise_count(stored[None, :, :] ^ chunk[:, None, :]).sum(axis=2)
            qi, row = np.nonzero((dist <= radius) & live[None, :])
            qs.append(qi + q0)
            rs.append(row + r0)
            ds.append(dist[qi, row])
    if not qs:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    qi, row, dist = (np.concatenate(x).astype(np.int64) for x in (qs, rs, ds))
    order = np.lexsort((row, qi))
    return qi[order], row[order], dist[order]
