"""`/v1/match...` and `/v1/index/status`: look up hashes or files in every bank. Scope: match.

`GET /v1/match` is the hot path. `FastMatch` answers the plain, valid form of it (a known
key with the scope, within its rate limit, well-formed hashes, a loaded index) straight
from ASGI, as `match_hash` would, without FastAPI's routing and dependency solving, which
cost several times the lookup itself (docs/benchmarks.md, "HTTP service"). Anything else
(no key or a key not verified in the last seconds, bad or repeated or unknown parameters,
an index still loading, a limit reached) goes on to the route, which answers it and its
errors in full; the route also defines the OpenAPI entry.

The query parameters of `GET /v1/match` are the listable signal types of the registry (one
each, named as the type), read when this module is imported.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Collection
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from safeguard.api.auth import Principal, bearer_token, require
from safeguard.api.errors import ApiError
from safeguard.api.metrics import count_lookups
from safeguard.api.models import (
    LISTABLE,
    FileMatchResults,
    IndexStatusOut,
    MatchQueries,
    MatchResultOut,
    MatchResults,
    signal_spec,
)
from safeguard.api.routes.common import errors, hash_upload, result_json, send_json
from safeguard.api.runtime import Runtime, runtime
from safeguard.engine import Safeguard
from safeguard.matching import MatchResult

match_scope = require("match")
router = APIRouter(prefix="/v1", tags=["match"], dependencies=[Depends(match_scope)])

MAX_FILES = 100


def _bank_names(banks: str | None) -> set[str] | None:
    return {b.strip() for b in banks.split(",") if b.strip()} if banks else None


async def match_hash(
    banks: str | None = Query(None, description="comma-separated bank names to limit to"),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(match_scope),
    **given: str | None,
) -> JSONResponse:
    """Look up one item's hashes in every enabled bank."""
    query = rt.sg.check_signals({t: v for t, v in given.items() if v is not None})
    result = await _lookup(rt.sg, query, _bank_names(banks), who.actor)
    # the dict is built to the documented model, so FastAPI's re-validation is skipped
    return JSONResponse(result_json(result))


# one query parameter per listable signal type, as FastAPI reads them from the signature
match_hash.__signature__ = inspect.signature(  # type: ignore[attr-defined]
    match_hash
).replace(
    parameters=[
        *[
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=Query(None, description=t.description, json_schema_extra=signal_spec(name)),
                annotation=str | None,
            )
            for name, t in LISTABLE.items()
        ],
        *[
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=a)
            for p, a in zip(
                list(inspect.signature(match_hash).parameters.values())[:3],
                (str | None, Runtime, Principal),
                strict=True,
            )
        ],
    ]
)
router.add_api_route(
    "/match",
    match_hash,
    methods=["GET"],
    response_model=MatchResultOut,
    responses=errors(400, 503),
)


async def _lookup(
    sg: Safeguard, query: dict[str, str], only: Collection[str] | None, actor: str
) -> MatchResult:
    """One lookup, counted: inline when it is CPU only, on a thread when it must read the
    database (the external id of a matched item not in the matcher's cache)."""
    result = sg.match_cached(query, banks=only, actor=actor)
    if result is None:
        result = await run_in_threadpool(lambda: sg.match(query, banks=only, actor=actor))
    count_lookups([query], [result])
    return result


_PARAMS = frozenset((*LISTABLE, "banks"))


class FastMatch:
    """ASGI middleware: answers a plain, valid `GET /v1/match` itself (module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route: object = None  # the route's object, so metrics label it as the route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/match" and scope["method"] == "GET":
            body = await self._answer(scope)
            if body is not None:
                await send_json(send, body)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope) -> bytes | None:
        """The response body, or None to leave the request to the route."""
        params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        names = {k for k, _ in params}
        if len(names) != len(params) or not names <= _PARAMS:
            return None
        given = {k: v for k, v in params if k != "banks"}
        rt: Runtime = scope["app"].state.runtime
        try:
            query = rt.sg.check_signals(given)
        except Exception:
            return None
        token = bearer_token(scope)
        key = rt.key_cache.cached(token) if token else None
        if key is None or "match" not in key.scopes or not rt.sg.ready:
            return None
        limit = key.rate_limit or rt.service.rate_limit
        if rt.limiter.take(f"key {key.name!r}", limit) > 0:
            return None  # the route answers 429 (its take is refused too)
        only = _bank_names(dict(params).get("banks"))
        result = await _lookup(rt.sg, query, only, Principal(key).actor)
        if self.route is None:
            self.route = next(
                r
                for r in router.routes
                if getattr(r, "path", None) == "/v1/match" and "GET" in getattr(r, "methods", ())
            )
        scope["route"] = self.route
        content = result_json(result)
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


@router.post("/match", response_model=MatchResults, responses=errors(400, 503))
def match_hashes(
    body: MatchQueries, rt: Runtime = Depends(runtime), who: Principal = Depends(match_scope)
) -> dict[str, object]:
    """Look up many items at once (up to 10,000), each a {signal type: value} object."""
    queries = [rt.sg.check_signals(q) for q in body.queries]
    only = set(body.banks) if body.banks else None
    results = rt.sg.match_many(queries, banks=only, actor=who.actor)
    count_lookups(queries, results)
    return {"results": [result_json(r) for r in results]}


@router.post("/match/files", response_model=FileMatchResults, responses=errors(400, 413, 415, 503))
async def match_files(
    files: list[UploadFile] = File(
        description="one or more files", min_length=1, json_schema_extra={"maxItems": MAX_FILES}
    ),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(match_scope),
) -> dict[str, object]:
    """Hash uploaded files and look each up. A file that cannot be read gets its error and
    `result: null`; the others are still matched."""
    if len(files) > MAX_FILES:
        raise ApiError(400, f"at most {MAX_FILES} files per request", "invalid_request")
    hashed = [await hash_upload(rt, f, "match") for f in files]
    wanted = [h for h in hashed if h.query()]
    results = (
        await run_in_threadpool(lambda: rt.sg.match_many(wanted, actor=who.actor)) if wanted else []
    )
    count_lookups([h.query() for h in wanted], results)
    found = iter(results)
    out = []
    for h in hashed:
        out.append({"file": h.to_json(), "result": result_json(next(found)) if h.query() else None})
    return {"results": out}


@router.get("/index/status", response_model=IndexStatusOut, responses=errors())
def index_status(rt: Runtime = Depends(runtime)) -> dict[str, object]:
    """What this process's index holds and how current it is."""
    s = rt.sg.index_status()
    assert rt.follower is not None  # the match role, whose routes these are, runs one
    return {
        "ready": s.ready,
        "sizes": s.sizes,
        "banks": s.banks,
        "change_cursor": s.change_cursor,
        "built_at": s.built_at,
        "caught_up_at": s.caught_up_at,
        "age_seconds": s.age(),
        "rebuilds": s.rebuilds,
        "changes_applied": s.changes_applied,
        "last_error": rt.follower.last_error,
        "source": s.source,
        "snapshot_version": s.snapshot_version,
    }
