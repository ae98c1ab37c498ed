"""Exact-match index for cryptographic digests: a dictionary from value to entry ids."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class ExactIndex:
    def __init__(self) -> None:
        self._by_value: dict[str, set[int]] = {}
        self._by_id: dict[int, str] = {}

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        for entry_id, value in entries:
            self._by_value.setdefault(value, set()).add(entry_id)
            self._by_id[entry_id] = value

    def remove(self, entry_ids: Iterable[int]) -> None:
        for entry_id in entry_ids:
            value = self._by_id.pop(entry_id, None)
            if value is not None:
                ids = self._by_value[value]
                ids.discard(entry_id)
                if not ids:
                    del self._by_value[value]

    def query(self, value: str, max_distance: int = 0) -> list[tuple[int, int]]:
        return [(i, 0) for i in sorted(self._by_value.get(value, ()))]

    def query_many(
        self, values: Sequence[str], max_distance: int = 0
    ) -> list[list[tuple[int, int]]]:
        return [self.query(v) for v in values]

    def items(self) -> list[tuple[int, str]]:
        """Every (entry id, value): what an index snapshot saves (matching/snapshots.py)."""
        return list(self._by_id.items())

    def __len__(self) -> int:
        return len(self._by_id)
