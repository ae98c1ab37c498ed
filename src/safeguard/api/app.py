"""`create_app()`: the FastAPI application, and the runtime each server process holds.

Each process opens the store, loads the match index in the background and follows the
change log (`IndexFollower`). Route groups are mounted by role (`SAFEGUARD_API_ROLES`), so
hashers, matchers and curators can be deployed apart, as in HMA.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request

from safeguard import __version__
from safeguard.access import KeyService
from safeguard.api import errors
from safeguard.api.auth import KeyCache
from safeguard.api.follower import IndexFollower
from safeguard.api.metrics import MetricsMiddleware
from safeguard.api.ratelimit import RateLimiter
from safeguard.api.settings import ServiceSettings
from safeguard.api.uploads import BodyLimit
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
        return BankService(self.sg.db, actor, on_change=self.after_write)

    def after_write(self) -> None:
        if self.follower is not None:
            self.follower.sync_now()

    def keys(self, actor: str) -> KeyService:
        return KeyService(self.sg.db, actor)


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def create_app(settings: Settings | None = None, service: ServiceSettings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    service = service or ServiceSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sg = Safeguard.open(settings)
        sg.matcher.auto_refresh = False
        # hashers and curators need no index: only a matching process loads and follows one
        matches = "match" in service.roles
        follower = IndexFollower(sg.matcher, service.sync_interval) if matches else None
        app.state.runtime = Runtime(
            settings=settings,
            service=service,
            sg=sg,
            follower=follower,
            key_cache=KeyCache(KeyService(sg.db, "api"), service.key_cache_seconds),
            limiter=RateLimiter(),
        )
        if follower is not None:
            follower.start()
        try:
            yield
        finally:
            if follower is not None:
                follower.stop()
            sg.close()

    app = FastAPI(
        title="safeguard",
        version=__version__,
        summary="Hash content, keep hash banks of known abuse imagery, match uploads.",
        description=(
            "Every route except the health checks needs an API key with a scope "
            "(`safeguard keys create`), sent as `Authorization: Bearer sgk_...`. "
            "Routes under `/h`, `/m` and `/c` follow Meta's HMA 2.x API."
        ),
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(BodyLimit, limit=service.max_upload_bytes)
    app.add_middleware(MetricsMiddleware)

    from safeguard.api.routes import admin, curation, hashing, health, hma, matching

    app.include_router(health.router)
    groups = {
        "hash": [hashing.router, hma.hashing],
        "match": [matching.router, hma.matching],
        "curate": [curation.router, hma.curation],
        "admin": [admin.router],
    }
    for role in service.roles:
        for router in groups[role]:
            app.include_router(router)
    return app


def app_from_env() -> FastAPI:
    """The uvicorn factory used by `safeguard serve` (settings from the environment)."""
    return create_app()
