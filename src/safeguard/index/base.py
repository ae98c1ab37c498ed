"""The index interface: find stored signal values within a distance of a query, fast.

An index maps integer entry ids to signal values. The matcher owns the mapping from entry
ids to banks and content; indexes know only values and distances, so a faster PDQ index
(multi-index hashing, snapshots) serves without the matcher knowing which one it has.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol


class SignalIndex(Protocol):
    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        """Add (entry id, canonical value) pairs. Ids must be unique."""

    def remove(self, entry_ids: Iterable[int]) -> None:
        """Forget these entry ids (unknown ids are ignored)."""

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        """Every (entry id, distance) with distance <= max_distance; nothing beyond it."""

    def query_many(self, values: Sequence[str], max_distance: int) -> list[list[tuple[int, int]]]:
        """`query` for many values at once."""

    def __len__(self) -> int: ...


class KeptValues:
    """What the indexes that keep each entry's value share (exact, scan, video frames):
    `items` (what an index snapshot saves, matching/snapshots.py), the entry count, and
    `query_many` as one `query` per value. Subclasses fill `_values` and define `query`."""

    def __init__(self) -> None:
        self._values: dict[int, str] = {}

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        raise NotImplementedError

    def query_many(self, values: Sequence[str], max_distance: int) -> list[list[tuple[int, int]]]:
        return [self.query(v, max_distance) for v in values]

    def items(self) -> list[tuple[int, str]]:
        """Every (entry id, value)."""
        return list(self._values.items())

    def __len__(self) -> int:
        return len(self._values)
