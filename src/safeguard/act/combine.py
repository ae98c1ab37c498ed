"""Group commit: the work of concurrent callers done together, in one batch.

A server judges events on many threads at once; written one by one, each event pays for a
transaction of its own (on SQLite, the database's single write lock too). `GroupCommit`
lets the first caller run at once and queues those that arrive while it runs; when it is
done, one of them runs everything queued as one batch, so under load the cost of a
transaction is shared by every request that waited for it, and an idle server adds no wait.

Callers on an event loop (`run_async`) never block it: when it is their turn to lead, a
helper thread of the group commit runs the batch for them, or, when they give a `here`
form of the work that runs only if it need not wait (a SQLite write whose lock is free),
the loop runs it itself, after the requests already read have queued theirs. A batch whose
`here` finds the lock taken is tried again on the loop every `loop_retry` seconds (what
queued meanwhile joins it) and goes to the helper only after `loop_patience`. On SQLite
that matters: a write on a helper thread holds the database's one write lock while it
waits for the interpreter's lock, which the loop holds most of the time, and every other
process's writer waits with it (docs/benchmarks.md, "Writes on the event loop" and
"Checkpoints off the write path"). The helper takes its batch only once it holds
`helper_gate` (the store's writers' turn), so that what queued while another writer was at
work joins that batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: the most items one batch takes (the rest wait for the next)
MAX_BATCH = 256
#: how often a loop tries again a batch whose `here` was refused, and for how long (from
#: its first caller's arrival) before the helper thread takes it: another process's write
#: takes about half a millisecond; one held for long (a bulk import) is waited for in the
#: kernel by the helper
LOOP_RETRY = 0.0003
LOOP_PATIENCE = 0.02


@dataclass(eq=False)
class _Slot(Generic[T, R]):
    key: Hashable
    items: Sequence[T]
    run: Callable[[list[T]], list[R]]
    #: the same work, run on the caller's event loop if it can be done at once (None: not)
    here: Callable[[list[T]], list[R] | None] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    #: a caller on a thread: set when its work is done, or when it is its turn to lead
    wake: threading.Event | None = None
    #: a caller on an event loop: called (from any thread) when its work is done
    notify: Callable[[], None] | None = None
    results: list[R] | None = None
    error: BaseException | None = None
    done: bool = False
    since: float = 0.0  # when its caller arrived (time.monotonic)

    def signal(self) -> None:
        if self.wake is not None:
            self.wake.set()
        if self.notify is not None:
            self.notify()

    def outcome(self) -> list[R]:
        if self.error is not None:
            raise self.error
        assert self.results is not None
        return self.results


class GroupCommit(Generic[T, R]):
    """Runs `run(items)` for callers on many threads, batching those that wait.

    Callers with equal `key` may share a batch: their items are joined into one list,
    `run` is called once on it (the `run` of the first of them) and each caller gets its
    own part of the results back (or the exception `run` raised). Each waiting caller is
    woken once: when its work is done, or to run the next batch itself (a caller on an
    event loop has its loop try the batch's `here` form, or the helper thread run it)."""

    def __init__(
        self,
        max_batch: int = MAX_BATCH,
        *,
        loop_retry: float = LOOP_RETRY,
        loop_patience: float = LOOP_PATIENCE,
    ) -> None:
        self.max_batch = max_batch
        self.loop_retry, self.loop_patience = loop_retry, loop_patience
        #: told the number of items of each batch run (the server's metrics histogram)
        self.on_batch: Callable[[int], None] | None = None
        #: held by the helper thread while it takes and runs a batch: the store's writers'
        #: turn (Database.writers_turn), so a batch handed over because another writer was
        #: at work is taken only when that writer is done, with all that queued meanwhile
        self.helper_gate: Callable[[], AbstractContextManager[object]] | None = None
        self._lock = threading.Lock()
        self._queue: list[_Slot[T, R]] = []
        self._busy = False
        self._helper: threading.Thread | None = None
        self._helper_turn = threading.Event()
        #: batches run and items in them (for tests and metrics)
        self.batches = 0
        self.items = 0

    def run(self, key: Hashable, items: Sequence[T], run: Callable[[list[T]], list[R]]) -> list[R]:
        slot: _Slot[T, R] = _Slot(key, items, run, wake=threading.Event())
        if self._enqueue(slot):
            assert slot.wake is not None
            slot.wake.wait()
        if not slot.done:  # this caller runs the next batch (its own slot comes first)
            self._lead()
        return slot.outcome()

    async def run_async(
        self,
        key: Hashable,
        items: Sequence[T],
        run: Callable[[list[T]], list[R]],
        *,
        here: Callable[[list[T]], list[R] | None] | None = None,
    ) -> list[R]:
        """As `run`, awaited: the batch is run on a thread, never blocking the event loop.
        `here`, when given, is the same work in a form that returns None at once, having
        done nothing, where it would have to wait (for a lock): a batch led from this loop
        is tried with it on the loop first, and goes to the helper thread only then."""
        loop = asyncio.get_running_loop()
        finished = loop.create_future()

        def notify() -> None:
            if _running_loop() is loop:  # a batch run on the loop: no wake-up through its pipe
                _resolve(finished)
            else:
                loop.call_soon_threadsafe(_resolve, finished)

        slot: _Slot[T, R] = _Slot(
            key, items, run, here, loop, notify=notify, since=time.monotonic()
        )
        if not self._enqueue(slot):
            self._hand_on(slot)
        await finished
        return slot.outcome()

    def _enqueue(self, slot: _Slot[T, R]) -> bool:
        """Queue `slot`; False when no batch is running (then its caller leads)."""
        with self._lock:
            self._queue.append(slot)
            waits, self._busy = self._busy, True
        return waits

    def _lead(self, loop: asyncio.AbstractEventLoop | None = None, *, gated: bool = False) -> None:
        """Run the next batch on this thread (on `loop`, the event loop this thread runs:
        only the groups that can be done without waiting), then hand the turn on (or go
        idle). `gated` (the helper thread): the batch is taken once `helper_gate` is held,
        so that what queued while it waited joins it."""
        batch: list[_Slot[T, R]] = []
        deferred: list[_Slot[T, R]] = []
        try:
            with contextlib.ExitStack() as held:
                if gated and self.helper_gate is not None:
                    # a gate that fails leaves the batch to take its own turn (and report)
                    with contextlib.suppress(Exception):
                        held.enter_context(self.helper_gate())
                with self._lock:
                    batch = self._take()
                deferred = self._run(batch, loop)
        finally:
            with self._lock:
                self._queue[:0] = deferred  # what could not be done here goes first
                following = self._queue[0] if self._queue else None
                if following is None:
                    self._busy = False
            if deferred and loop is not None and self._retry_here(deferred, loop):
                loop.call_later(self.loop_retry, self._lead, loop)
            elif deferred:
                self._helper_leads()
            elif following is not None:  # the next batch is the next caller's
                self._hand_on(following)
            for done in batch:
                if done.done:
                    done.signal()

    def _retry_here(self, deferred: list[_Slot[T, R]], loop: asyncio.AbstractEventLoop) -> bool:
        """Whether the batch `loop` could not run (its `here` was refused) is tried there
        again: while it is young, and when all of it is work this loop can do."""
        if time.monotonic() - deferred[0].since >= self.loop_patience:
            return False
        return all(s.here is not None and s.loop is loop for s in deferred)

    def _hand_on(self, following: _Slot[T, R]) -> None:
        """Give the turn to lead to `following`'s caller: its thread, or its event loop
        (where the batch is tried without waiting), or else the helper thread."""
        if following.wake is not None:
            following.wake.set()
        elif following.here is not None and following.loop is not None:
            loop = following.loop
            if _running_loop() is loop:  # no thread hop needed
                loop.call_soon(self._lead, loop)
            else:
                loop.call_soon_threadsafe(self._lead, loop)
        else:
            self._helper_leads()

    def _helper_leads(self) -> None:
        """Give the turn to lead to the helper thread (started on first use)."""
        with self._lock:
            if self._helper is None:
                self._helper = threading.Thread(
                    target=self._helper_loop, name="group-commit", daemon=True
                )
                self._helper.start()
        self._helper_turn.set()

    def _helper_loop(self) -> None:
        while True:
            self._helper_turn.wait()
            self._helper_turn.clear()
            self._lead(gated=True)

    def _take(self) -> list[_Slot[T, R]]:
        """The queued slots up to `max_batch` items (at least the first one)."""
        n, size = 0, 0
        for slot in self._queue:
            if n and size + len(slot.items) > self.max_batch:
                break
            n, size = n + 1, size + len(slot.items)
        batch, self._queue = self._queue[:n], self._queue[n:]
        return batch

    def _run(
        self, batch: list[_Slot[T, R]], loop: asyncio.AbstractEventLoop | None = None
    ) -> list[_Slot[T, R]]:
        """Run the batch's groups; on `loop`, only with their `here` form: the slots of the
        groups that could not run there are returned, untouched."""
        groups: dict[Hashable, list[_Slot[T, R]]] = {}
        for slot in batch:
            groups.setdefault(slot.key, []).append(slot)
        deferred: list[_Slot[T, R]] = []
        for slots in groups.values():
            joined: list[T] = [item for slot in slots for item in slot.items]
            first = slots[0]
            try:
                if loop is None:
                    results: list[R] | None = first.run(joined)
                elif first.here is None or first.loop is not loop:
                    results = None
                else:
                    results = first.here(joined)
                if results is None:
                    deferred += slots
                    continue
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
        ran = [slot for slot in batch if slot.done]
        if ran:
            n = sum(len(s.items) for s in ran)
            self.batches += 1
            self.items += n
            if self.on_batch is not None:
                self.on_batch(n)
        return deferred


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # not on an event loop's thread
        return None


def _resolve(finished: asyncio.Future[None]) -> None:
    if not finished.done():  # its caller may have gone (a cancelled request)
        finished.set_result(None)
