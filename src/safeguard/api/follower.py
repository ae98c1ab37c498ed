"""The background thread that keeps this process's match index current.

It loads the index once, then polls the change log every `interval` seconds and applies
what changed (`Matcher.refresh`). Several processes, on one host or many, each run one
against the same database; a change made through any of them reaches all within about one
interval. `/status` reports 503 until the first load is done or
when polling has failed for longer than `stale_after`. Lookups answer from the index as it
was while a refresh reads the database; only applying a change holds them up, briefly.
"""

from __future__ import annotations

import logging
import threading
import time

from safeguard.matching import Matcher

log = logging.getLogger("safeguard.api.follower")


class IndexFollower:
    def __init__(self, matcher: Matcher, interval: float) -> None:
        self.matcher = matcher
        self.interval = interval
        self.last_ok: float | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)

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
            self._stop.wait(self.interval)
