"""`Runtime`: what one server process holds (the store through `Safeguard`, its index
follower, key cache and limits), and the dependency routes take it by.

Kept apart from `app.py` so that the routes import it without importing the application
that mounts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from safeguard.access import KeyService
from safeguard.api.auth import KeyCache
from safeguard.api.follower import IndexFollower
from safeguard.api.ratelimit import RateLimiter
from safeguard.api.settings import ServiceSettings
from safeguard.banks import BankService
from safeguard.config import Settings
from safeguard.engine import Safeguard


@dataclass
class Runtime:
    """What one server process holds: the store, its index follower, key cache, limits."""

    settings: Settings
    service: ServiceSettings
    sg: Safeguard
    follower: IndexFollower | None  # only where the match role is served
    key_cache: KeyCache
    limiter: RateLimiter

    def banks(self, actor: str) -> BankService:
        """Bank operations as `actor`; each change reaches this process's index before the
        response is sent."""
        return self.sg.banks_for(actor)

    def keys(self, actor: str) -> KeyService:
        return KeyService(self.sg.db, actor)


async def runtime(request: Request) -> Runtime:
    """The dependency for this process's Runtime (async: FastAPI would run a plain function
    on the thread pool, a hop that costs more than the whole lookup)."""
    return request.app.state.runtime
