"""Group commit: the work of concurrent callers done together, in one batch.

A server judges events on many threads at once; written one by one, each event pays for a
transaction of its own (on SQLite, the database's single write lock too). `GroupCommit`
lets the first caller run at once and queues those that arrive while it runs; when it is
done, one of them runs everything queued as one batch, so under load the cost of a
transaction is shared by every request that waited for it, and an idle server adds no wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: the most items one batch takes (the rest wait for the next)
MAX_BATCH = 256


@dataclass(eq=False)
class _Slot(Generic[T, R]):
    key: Hashable
    items: Sequence[T]
    run: Callable[[list[T]], list[R]]
    results: list[R] | None = None
    error: BaseException | None = None
    done: bool = False
    #: set when the slot is done, or when it is its turn to run the next batch
    wake: threading.Event = field(default_factory=threading.Event)


class GroupCommit(Generic[T, R]):
    """Runs `run(items)` for callers on many threads, batching those that wait.

    Callers with equal `key` may share a batch: their items are joined into one list,
    `run` is called once on it (the `run` of the first of them) and each caller gets its
    own part of the results back (or the exception `run` raised). Each waiting caller is
    woken once: when its work is done, or to run the next batch itself."""

    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Slot[T, R]] = []
        self._busy = False
        #: batches run and items in them (for tests and metrics)
        self.batches = 0
        self.items = 0

    def run(self, key: Hashable, items: Sequence[T], run: Callable[[list[T]], list[R]]) -> list[R]:
        slot: _Slot[T, R] = _Slot(key, items, run)
        with self._lock:
            self._queue.append(slot)
            lead, self._busy = not self._busy, True
        if not lead:
            slot.wake.wait()
        if not slot.done:  # this caller runs the next batch (its own slot comes first)
            with self._lock:
                batch = self._take()
            try:
                self._run(batch)
            finally:
                with self._lock:
                    if self._queue:
                        self._queue[0].wake.set()  # the next batch is the next caller's
                    else:
                        self._busy = False
                for done in batch:
                    done.wake.set()
        if slot.error is not None:
            raise slot.error
        assert slot.results is not None
        return slot.results

    def _take(self) -> list[_Slot[T, R]]:
        """The queued slots up to `max_batch` items (at least the first one)."""
        n, size = 0, 0
        for slot in self._queue:
            if n and size + len(slot.items) > self.max_batch:
                break
            n, size = n + 1, size + len(slot.items)
        batch, self._queue = self._queue[:n], self._queue[n:]
        return batch

    def _run(self, batch: list[_Slot[T, R]]) -> None:
        groups: dict[Hashable, list[_Slot[T, R]]] = {}
        for slot in batch:
            groups.setdefault(slot.key, []).append(slot)
        for slots in groups.values():
            joined: list[T] = [item for slot in slots for item in slot.items]
            try:
                results = slots[0].run(joined)
                if len(results) != len(joined):
                    raise AssertionError("a batch returned the wrong number of results")
            except BaseException as e:  # handed to every caller of the group
                for slot in slots:
                    slot.error, slot.done = e, True
                continue
            start = 0
            for slot in slots:
                slot.results = results[start : start + len(slot.items)]
                slot.done = True
                start += len(slot.items)
        self.batches += 1
        self.items += sum(len(s.items) for s in batch)
