"""Request budgets: a token bucket per key (or per client address), refilled continuously.

Each server process keeps its own buckets, so with N worker processes a key can make up to
N times its per-minute limit in total; docs/api.md says so and how to size it.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def take(self, key: str, per_minute: int) -> float:
        """Spend one request of `key`'s budget: 0.0 if allowed, else seconds to wait."""
        rate = per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate

    def wait(self, key: str, per_minute: int) -> float:
        """Seconds until `key` may spend a request (0.0: now), spending nothing."""
        with self._lock:
            got = self._buckets.get(key)
        if got is None:
            return 0.0
        tokens = min(float(per_minute), got[0] + (time.monotonic() - got[1]) * per_minute / 60)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) * 60 / per_minute


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
