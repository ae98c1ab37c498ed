"""A brute-force index for any signal type with a distance function: the default for
non-exact types that bring no faster index of their own (a plug-in type works at once; it
should bring its own `make_index` once its banks grow past tens of thousands of values)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from safeguard.index.base import KeptValues


class ScanIndex(KeptValues):
    def __init__(self, distance: Callable[[str, str], int]) -> None:
        super().__init__()
        self._distance = distance

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        for entry_id, value in entries:
            self._values[entry_id] = value

    def remove(self, entry_ids: Iterable[int]) -> None:
        for entry_id in entry_ids:
            self._values.pop(entry_id, None)

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        found = []
        for entry_id, stored in self._values.items():
            d = self._distance(value, stored)
            if d <= max_distance:
                found.append((entry_id, d))
        return sorted(found, key=lambda hit: (hit[1], hit[0]))
