"""The hashing workers are not forks of the caller, so a lock that one of the caller's threads
holds (an encoder's, a server's) cannot leave a worker waiting for ever."""

from __future__ import annotations

import threading

from safeguard.signals.files import worker_pool

_LOCK = threading.Lock()


def _needs_the_lock() -> str:
    if not _LOCK.acquire(timeout=20):
        return "the worker found the lock held: it is a fork of the caller"
    _LOCK.release()
    return "done"


def test_a_worker_runs_while_a_thread_of_the_caller_holds_a_lock_it_needs() -> None:
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _LOCK:
            taken.set()
            release.wait(60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    taken.wait(10)
    try:
        with worker_pool(1) as pool:
            assert pool.submit(_needs_the_lock).result(timeout=120) == "done"
    finally:
        release.set()
        holder.join()
