"""The background thread that keeps this process's match index current.

It loads the index once, then polls the change log every `interval` seconds and applies
what changed (`Matcher.refresh`). Several processes, on one host or many, each run one
against the same database; a change made through any of them reaches all within about one
interval. `/status` reports 503 until the first load is done or
when polling has failed for longer than `stale_after`. Lookups answer from the index as it
was while a refresh reads the database; only applying a change holds them up, briefly.

Listeners (`add_listener`, or `listeners=` at construction) get the change-log rows
committed from the moment they were registered: after each refresh the thread reads what
is new from its own feed and calls each listener, in registration order, with the same list
of rows (`ChangeRow`, match records included). A listener that raises is logged and the
others still run; the rows are not offered again, so in-process listeners suit caches and
notifications, and a consumer that must not miss a row uses a durable
`safeguard.events.Subscription`. With no listener the follower reads nothing more than the
matcher does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from safeguard.matching import Matcher
from safeguard.matching.feed import ChangeFeed, ChangeRow

#: what a listener is called with: the rows committed since its previous call
Listener = Callable[[list[ChangeRow]], None]

log = logging.getLogger("safeguard.api.follower")


class IndexFollower:
    def __init__(
        self, matcher: Matcher, interval: float, listeners: Iterable[Listener] = ()
    ) -> None:
        self.matcher = matcher
        self.interval = interval
        self.last_ok: float | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)
        self._listeners: list[Listener] = []
        self._listener_feed: ChangeFeed | None = None
        self._listener_lock = threading.Lock()
        for fn in listeners:
            self.add_listener(fn)

    def add_listener(self, fn: Listener) -> None:
        """Call `fn(rows)` from the follower's thread with every change committed from now
        on (rows committed before this call are not replayed)."""
        with self._listener_lock:
            if self._listener_feed is None:
                feed = ChangeFeed(self.matcher.db)
                feed.reset_to_head()
                self._listener_feed = feed
            self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        with self._listener_lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def sync_now(self) -> None:
        """Apply committed changes right away (after a write made through this process).

        The write has committed already, so a failure here is logged, not raised: the
        background loop retries, rebuilding the index if it must."""
        if not self.matcher.status().ready:
            return
        try:
            self.matcher.refresh()
            self.last_ok = time.time()
        except Exception as e:
            self.last_error = f"{type(e).__name__}: {e}".splitlines()[0]
            log.warning("index refresh after a write failed: %s", self.last_error)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.matcher.refresh()
                self.last_ok = time.time()
                self.last_error = None
            except Exception as e:  # the database may be briefly unreachable: keep trying
                self.last_error = f"{type(e).__name__}: {e}".splitlines()[0]
                log.warning("index refresh failed: %s", self.last_error)
            self._notify()
            self._stop.wait(self.interval)

    def _notify(self) -> None:
        """Hand each listener the rows committed since the last call (feed drained)."""
        feed = self._listener_feed
        if feed is None:
            return
        while not self._stop.is_set():
            try:
                batch = feed.poll()
            except Exception as e:
                log.warning("reading changes for listeners failed: %s", str(e).splitlines()[0])
                return
            if batch.rows:
                with self._listener_lock:
                    listeners = list(self._listeners)
                for fn in listeners:
                    try:
                        fn(batch.rows)
                    except Exception:
                        log.exception("a change listener failed; the others still run")
            feed.advance(batch)
            if batch.scanned < feed.batch:
                return
