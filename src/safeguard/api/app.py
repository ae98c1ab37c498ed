"""`create_app()`: the FastAPI application of one server process, and the uvicorn factory.

Each process opens the store, loads the match index and follows the change log
(`IndexFollower`). The index loads during start-up, before uvicorn accepts a connection,
for at most `SAFEGUARD_STARTUP_WAIT` seconds; past that the process serves anyway and
lookups answer 503 with `Retry-After` until the index is in. Route groups are mounted by
role (`SAFEGUARD_API_ROLES`), so hashers, matchers and curators can be deployed apart, as
in HMA.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safeguard import __version__
from safeguard.access import KeyService
from safeguard.api import errors
from safeguard.api.auth import AuthGate, KeyCache
from safeguard.api.follower import IndexFollower
from safeguard.api.metrics import EVENT_BATCH, MetricsMiddleware
from safeguard.api.ratelimit import RateLimiter
from safeguard.api.routes import (
    admin,
    admin_review,
    curation,
    exchange,
    hashing,
    health,
    hma,
    matching,
    referrals,
    review,
)
from safeguard.api.runtime import Runtime
from safeguard.api.server import STATE
from safeguard.api.settings import ServiceSettings
from safeguard.api.uploads import BodyLimit
from safeguard.config import Settings
from safeguard.engine import Safeguard
from safeguard.errors import IndexNotReady
from safeguard.matching.snapshots import SnapshotJob

log = logging.getLogger("safeguard.api")

#: what a lookup that came before the index answers in `Retry-After` (seconds)
INDEX_RETRY_AFTER = "1"


def create_app(settings: Settings | None = None, service: ServiceSettings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    service = service or ServiceSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sg = Safeguard.open(settings, source="http")
        sg.matcher.auto_refresh = False
        # on SQLite, copying the write-ahead log into the database waits for the disk: on a
        # thread of its own, not inside whichever request's commit crossed the line
        sg.db.checkpoint_in_background()
        if "events" in service.roles:
            sg.event_batches.on_batch = EVENT_BATCH.observe
        # hashers and curators need no index: only a matching process loads and follows one
        matches = "match" in service.roles
        # a matching process starts from the newest index snapshot, if any (docs/snapshots.md)
        sg.matcher.snapshot_dir = service.snapshot_dir if matches else None
        follower = IndexFollower(sg.matcher, service.sync_interval) if matches else None
        # each change made here reaches this process's index before the response is sent
        sg.on_change = follower.sync_now if follower is not None else None
        app.state.runtime = Runtime(
            settings=settings,
            service=service,
            sg=sg,
            follower=follower,
            key_cache=KeyCache(
                KeyService(sg.db, "api"),
                service.key_cache_seconds,
                service.key_negative_cache_seconds,
            ),
            limiter=RateLimiter(),
        )
        if service.open_hma:
            log.warning(
                "SAFEGUARD_API_OPEN_HMA is on: the HMA routes (/h /m /c) answer WITHOUT an "
                "API key; anyone who can reach this address can read and change banks"
            )
        snapshot_job = None
        if follower is not None:
            follower.start()
            await _wait_for_index(sg, service.startup_wait)
            if service.snapshot_dir is not None:
                snapshot_job = SnapshotJob(
                    sg.matcher,
                    service.snapshot_dir,
                    service.snapshot_interval,
                    service.snapshot_keep,
                )
                snapshot_job.start()
        try:
            yield
        finally:
            if snapshot_job is not None:
                snapshot_job.stop()
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

    @app.exception_handler(IndexNotReady)
    async def _not_ready(_: Request, e: IndexNotReady) -> JSONResponse:
        return errors.error_response(503, e.message, e.code, {"Retry-After": INDEX_RETRY_AFTER})

    # outermost last: CloseWhenStopping, metrics, the /v1/match fast path, the key check
    # of requests with a body, then the body limit
    app.add_middleware(BodyLimit, limit=service.max_upload_bytes)
    app.add_middleware(AuthGate)
    if "match" in service.roles:
        app.add_middleware(matching.FastMatch)
    if "events" in service.roles:
        app.add_middleware(review.FastEvents)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(CloseWhenStopping)

    app.include_router(health.router)
    groups = {
        "hash": [hashing.router, hma.hashing],
        "match": [matching.router, hma.matching],
        "curate": [curation.router, hma.curation],
        "events": [review.events],
        "review": [review.review, referrals.router],
        "audit": [admin_review.audit],
        "admin": [admin.router, admin_review.rules, admin_review.admin],
        "exchange": [exchange.router],
    }
    for role in service.roles:
        for router in groups.get(role, []):
            app.include_router(router)
    if "ui" in service.roles:
        from safeguard.web import install  # only a server that serves the UI loads Jinja2

        install(app)
    return app


async def _wait_for_index(sg: Safeguard, seconds: float) -> None:
    """Hold start-up (and so the listening socket) until the index is loaded, for at most
    `seconds`, or until the process is told to stop."""
    deadline = time.monotonic() + seconds
    while not sg.ready:
        if time.monotonic() >= deadline:
            log.warning(
                "the match index is not loaded after %.0f s (SAFEGUARD_STARTUP_WAIT): "
                "serving anyway; lookups answer 503 until it is",
                seconds,
            )
            return
        if STATE.draining:
            return
        await asyncio.sleep(0.05)


class CloseWhenStopping:
    """Once the server stops accepting connections, every response says
    `Connection: close`, so each keep-alive connection ends after a complete answer rather
    than being cut while a request is on its way."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and STATE.closing:
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)


def app_from_env() -> FastAPI:
    """The uvicorn factory used by `safeguard serve`: a server process's settings, read from
    the environment it inherits (`safeguard.api.settings.worker_environment`), here only."""
    return create_app(Settings.from_env(), ServiceSettings.from_env())
