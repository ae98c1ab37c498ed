"""Exact-match index for cryptographic digests: a dictionary from value to entry ids."""

from __future__ import annotations

from collections.abc import Iterable

from safeguard.index.base import KeptValues


class ExactIndex(KeptValues):
    def __init__(self) -> None:
        super().__init__()
        self._by_value: dict[str, set[int]] = {}

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        for entry_id, value in entries:
            self._by_value.setdefault(value, set()).add(entry_id)
            self._values[entry_id] = value

    def remove(self, entry_ids: Iterable[int]) -> None:
        for entry_id in entry_ids:
            value = self._values.pop(entry_id, None)
            if value is not None:
                ids = self._by_value[value]
                ids.discard(entry_id)
                if not ids:
                    del self._by_value[value]

    def query(self, value: str, max_distance: int = 0) -> list[tuple[int, int]]:
        return [(i, 0) for i in sorted(self._by_value.get(value, ()))]
