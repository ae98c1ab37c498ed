"""Health checks, open without a key: `/status` and `/status/live` (HMA's), `/livez`,
`/readyz`; and HMA's other core routes, `/` and `/site-map`.

`/status` and `/readyz` say 503 while this process's match index is loading
(`INDEX-NOT-LOADED`), has not caught up with the change log for `stale_after` seconds
(`INDEX-STALE`), or once the process has been told to stop (`DRAINING`), so a load
balancer sends lookups only to processes that can answer them. `/livez` and `/status/live`
say only that the process serves HTTP. They run on the event loop (nothing here waits: the
index status is a lock-free snapshot), so a health check never queues for a worker thread
behind slow requests and costs no thread hop.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

from safeguard.api.metrics import INDEX_AGE, INDEX_ENTRIES
from safeguard.api.runtime import Runtime, runtime
from safeguard.api.server import STATE

router = APIRouter(tags=["health"])

_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
    503: {
        "description": "Index not loaded or stale, or the process is stopping",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
}


def _state(rt: Runtime) -> str | None:
    if STATE.draining:
        return "DRAINING"
    if rt.follower is None:  # no match role here: nothing to load
        return None
    status = rt.sg.index_status()
    if not status.ready:
        return "INDEX-NOT-LOADED"
    last = rt.follower.last_ok
    for t, n in status.sizes.items():
        INDEX_ENTRIES.labels(t).set(n)
    age = time.time() - last if last else None
    if age is not None:
        INDEX_AGE.set(age)
    if age is None or age > rt.service.stale_after:
        return "INDEX-STALE"
    return None


@router.get("/status", response_class=PlainTextResponse, responses=_TEXT)
async def status(rt: Runtime = Depends(runtime)) -> PlainTextResponse:
    """`I-AM-ALIVE` when this process can answer lookups (HMA's health check)."""
    problem = _state(rt)
    return PlainTextResponse(problem or "I-AM-ALIVE", status_code=503 if problem else 200)


@router.get("/status/live", response_class=PlainTextResponse, responses={200: _TEXT[200]})
async def status_live() -> PlainTextResponse:
    """`I-AM-ALIVE` while the process serves HTTP, whatever its index (HMA's liveness check)."""
    return PlainTextResponse("I-AM-ALIVE")


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    """To `/status`, as HMA without its UI."""
    return RedirectResponse("/status", status_code=302)


@router.get("/site-map")
def site_map(request: Request) -> list[str]:
    """Every route path this server answers, sorted (HMA's `/site-map`)."""
    app = request.app
    paths = set(app.openapi()["paths"]) | {r.path for r in app.routes if hasattr(r, "path")}
    return sorted(paths)


@router.get("/livez", response_class=PlainTextResponse, responses={200: _TEXT[200]})
async def livez() -> PlainTextResponse:
    """The process is up."""
    return PlainTextResponse("OK")


@router.get("/readyz", response_class=PlainTextResponse, responses=_TEXT)
async def readyz(rt: Runtime = Depends(runtime)) -> PlainTextResponse:
    """`READY` when lookups can be answered, else 503 with the reason."""
    problem = _state(rt)
    return PlainTextResponse(problem or "READY", status_code=503 if problem else 200)
