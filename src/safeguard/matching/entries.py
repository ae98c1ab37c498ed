"""`EntryTable`: which content item and bank each index entry (a signal row id) belongs to.

The bulk lives in numpy arrays sorted by entry id (about 25 bytes an entry); entries added
since the last merge sit in a small dictionary and are folded in when it grows, so single
additions stay cheap and a 10-million-entry bank stays compact. `arrays()` gives the live
entries as three sorted arrays, which is what an index snapshot stores.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

#: at most this many entries wait in the dictionary (about 250 bytes each) before a merge
_MAX_RECENT = 262_144


class EntryTable:
    def __init__(
        self, entry_ids: np.ndarray, content_ids: np.ndarray, bank_ids: np.ndarray
    ) -> None:
        order = np.argsort(entry_ids, kind="stable")
        self._ids = np.asarray(entry_ids, dtype=np.int64)[order]
        self._cids = np.asarray(content_ids, dtype=np.int64)[order]
        self._bids = np.asarray(bank_ids, dtype=np.int64)[order]
        self._live = np.ones(len(self._ids), dtype=bool)
        self._n_live = len(self._ids)
        self._recent: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return self._n_live + len(self._recent)

    def _row(self, entry_id: int) -> int | None:
        pos = int(np.searchsorted(self._ids, entry_id))
        if pos < len(self._ids) and self._ids[pos] == entry_id and self._live[pos]:
            return pos
        return None

    def get(self, entry_id: int) -> tuple[int, int] | None:
        """(content id, bank id) of an entry, or None when it is not in the table."""
        hit = self._recent.get(entry_id)
        if hit is not None:
            return hit
        pos = self._row(entry_id)
        if pos is None:
            return None
        return int(self._cids[pos]), int(self._bids[pos])

    def __contains__(self, entry_id: int) -> bool:
        return self.get(entry_id) is not None

    def add(self, entry_id: int, content_id: int, bank_id: int) -> bool:
        """Add an entry; False (and nothing changes) when it is already there."""
        if entry_id in self:
            return False
        self._recent[entry_id] = (content_id, bank_id)
        if len(self._recent) > min(max(4096, len(self._ids) // 8), _MAX_RECENT):
            self._merge()
        return True

    def remove(self, entry_ids: Iterable[int]) -> None:
        """Drop these entries (ids not in the table are ignored)."""
        for entry_id in entry_ids:
            if self._recent.pop(entry_id, None) is None:
                pos = self._row(entry_id)
                if pos is not None:
                    self._live[pos] = False
                    self._n_live -= 1

    def remove_bank(self, bank_id: int) -> list[int]:
        """Drop every entry of a bank; returns the entry ids dropped."""
        gone = self._drop(self._bids == bank_id)
        recent = [e for e, (_, b) in self._recent.items() if b == bank_id]
        for e in recent:
            del self._recent[e]
        return gone + recent

    def entries_of(self, content_ids: Iterable[int]) -> dict[int, int]:
        """{entry id: content id} for the live entries of these content items."""
        wanted = np.fromiter(content_ids, dtype=np.int64)
        mask = self._live & np.isin(self._cids, wanted)
        found = dict(zip(self._ids[mask].tolist(), self._cids[mask].tolist(), strict=True))
        wanted_set = set(wanted.tolist())
        found.update({e: c for e, (c, _) in self._recent.items() if c in wanted_set})
        return found

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(entry ids, content ids, bank ids) of every live entry, sorted by entry id: new
        arrays, so a snapshot can write them while the table keeps changing."""
        keep = self._live
        extra = np.array([(e, c, b) for e, (c, b) in self._recent.items()], dtype=np.int64).reshape(
            -1, 3
        )
        ids = np.concatenate([self._ids[keep], extra[:, 0]])
        order = np.argsort(ids, kind="stable")
        return (
            ids[order],
            np.concatenate([self._cids[keep], extra[:, 1]])[order],
            np.concatenate([self._bids[keep], extra[:, 2]])[order],
        )

    def _drop(self, mask: np.ndarray) -> list[int]:
        mask &= self._live
        ids = self._ids[mask].tolist()
        self._live[mask] = False
        self._n_live -= len(ids)
        return ids

    def _merge(self) -> None:
        self._ids, self._cids, self._bids = self.arrays()
        self._live = np.ones(len(self._ids), dtype=bool)
        self._n_live = len(self._ids)
        self._recent = {}
