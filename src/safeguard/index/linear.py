"""Exact PDQ range index by brute force: XOR and popcount over every stored hash with numpy.

Exact by construction (every stored hash is compared), about 100 million comparisons a
second per core, and adds and removes are cheap. Fine for banks up to a few million hashes;
the multi-index index of issue #3 replaces it behind the same interface for larger ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from safeguard.signals.pdq import pdq_to_words

_GROW = 1.5
_BLOCK_CELLS = 2_000_000  # (queries x stored hashes) compared at once: bounds temporary memory


class LinearPdqIndex:
    def __init__(self) -> None:
        self._words = np.zeros((0, 4), dtype=np.uint64)
        self._ids = np.zeros(0, dtype=np.int64)
        self._live = np.zeros(0, dtype=bool)
        self._n = 0  # rows used (live or removed)
        self._row_of: dict[int, int] = {}

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        entries = list(entries)
        if not entries:
            return
        new_ids = [i for i, _ in entries]
        if len(set(new_ids)) != len(new_ids) or any(i in self._row_of for i in new_ids):
            raise ValueError("entry ids must be unique and not already in the index")
        words = pdq_to_words([v for _, v in entries])
        need = self._n + len(entries)
        if need > len(self._ids):
            cap = max(need, int(len(self._ids) * _GROW), 1024)
            self._words = _resize(self._words, (cap, 4))
            self._ids = _resize(self._ids, (cap,))
            self._live = _resize(self._live, (cap,))
        rows = slice(self._n, need)
        self._words[rows] = words
        self._ids[rows] = new_ids
        self._live[rows] = True
        for offset, entry_id in enumerate(new_ids):
            self._row_of[entry_id] = self._n + offset
        self._n = need

    def remove(self, entry_ids: Iterable[int]) -> None:
        for entry_id in entry_ids:
            row = self._row_of.pop(entry_id, None)
            if row is not None:
                self._live[row] = False
        if self._n > 1024 and len(self._row_of) < self._n // 2:
            self._compact()

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        return self.query_many([value], max_distance)[0]

    def query_many(self, values: Sequence[str], max_distance: int) -> list[list[tuple[int, int]]]:
        return self.query_words(pdq_to_words(list(values)), max_distance)

    def query_words(self, q_all: np.ndarray, max_distance: int) -> list[list[tuple[int, int]]]:
        """`query_many` for queries already packed by `pdq_to_words`."""
        out: list[list[tuple[int, int]]] = []
        stored = self._words[: self._n]
        live = self._live[: self._n]
        ids = self._ids[: self._n]
        block = max(1, min(256, _BLOCK_CELLS // max(self._n, 1)))
        for start in range(0, len(q_all), block):
            q = q_all[start : start + block]
            dist = np.bitwise_count(stored[None, :, :] ^ q[:, None, :]).sum(axis=2)
            hit = (dist <= max_distance) & live[None, :]
            for qi in range(len(q)):
                rows = np.flatnonzero(hit[qi])
                order = np.argsort(dist[qi, rows], kind="stable")
                rows = rows[order]
                out.append(list(zip(ids[rows].tolist(), dist[qi, rows].tolist(), strict=True)))
        return out

    def __len__(self) -> int:
        return len(self._row_of)

    def contains(self, entry_id: int) -> bool:
        return entry_id in self._row_of

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """(entry ids, packed words) of every live entry."""
        rows = np.flatnonzero(self._live[: self._n])
        return self._ids[rows].copy(), self._words[rows].copy()

    def _compact(self) -> None:
        keep = np.flatnonzero(self._live[: self._n])
        self._words = self._words[keep].copy()
        self._ids = self._ids[keep].copy()
        self._live = np.ones(len(keep), dtype=bool)
        self._n = len(keep)
        self._row_of = {int(i): r for r, i in enumerate(self._ids.tolist())}


def _resize(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=a.dtype)
    out[: len(a)] = a
    return out
