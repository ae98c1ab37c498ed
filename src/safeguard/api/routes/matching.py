"""`/v1/match...` and `/v1/index/status`: look up hashes or files in every bank. Scope: match."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from safeguard.api.app import Runtime, runtime
from safeguard.api.auth import require
from safeguard.api.errors import ApiError
from safeguard.api.metrics import count_lookups
from safeguard.api.models import (
    FileMatchResults,
    IndexStatusOut,
    MatchQueries,
    MatchResultOut,
    MatchResults,
)
from safeguard.api.routes.common import errors, hash_upload, result_json
from safeguard.signals import validate_signals

router = APIRouter(prefix="/v1", tags=["match"], dependencies=[Depends(require("match"))])

MAX_FILES = 100


@router.get("/match", response_model=MatchResultOut, responses=errors(400, 503))
async def match_hash(
    pdq: str | None = Query(None, description="PDQ hash, 64 hex digits"),
    md5: str | None = Query(None, description="MD5, 32 hex digits"),
    sha256: str | None = Query(None, description="SHA-256, 64 hex digits"),
    banks: str | None = Query(None, description="comma-separated bank names to limit to"),
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    """Look up one item's hashes in every enabled bank."""
    given = {k: v for k, v in (("pdq", pdq), ("md5", md5), ("sha256", sha256)) if v is not None}
    query = validate_signals(given)
    only = {b.strip() for b in banks.split(",") if b.strip()} if banks else None
    # inline, not on the thread pool: the lookup is CPU-only (and a cached or single indexed
    # query for a match), and this is the hot path; the dict is built to the documented
    # model, so FastAPI's re-validation of it is skipped
    result = rt.sg.matcher.lookup(query, only)
    count_lookups([query], [result])
    return JSONResponse(result_json(result))


@router.post("/match", response_model=MatchResults, responses=errors(400, 503))
def match_hashes(body: MatchQueries, rt: Runtime = Depends(runtime)) -> dict[str, object]:
    """Look up many items at once (up to 10,000), each a {signal type: value} object."""
    queries = [validate_signals(q) for q in body.queries]
    results = rt.sg.matcher.lookup_many(queries, set(body.banks) if body.banks else None)
    count_lookups(queries, results)
    return {"results": [result_json(r) for r in results]}


@router.post("/match/files", response_model=FileMatchResults, responses=errors(400, 413, 415, 503))
async def match_files(
    files: list[UploadFile] = File(description="one or more files"),
    rt: Runtime = Depends(runtime),
) -> dict[str, object]:
    """Hash uploaded files and look each up. A file that cannot be read gets its error and
    `result: null`; the others are still matched."""
    if len(files) > MAX_FILES:
        raise ApiError(400, f"at most {MAX_FILES} files per request", "invalid_request")
    hashed = [await hash_upload(rt, f, variants=True, local=True) for f in files]
    queries = [h.query() for h in hashed]
    wanted = [q for q in queries if q]
    results = await run_in_threadpool(rt.sg.matcher.lookup_many, wanted) if wanted else []
    count_lookups(wanted, results)
    found = iter(results)
    out = []
    for h, q in zip(hashed, queries, strict=True):
        out.append({"file": h.to_json(), "result": result_json(next(found)) if q else None})
    return {"results": out}


@router.get("/index/status", response_model=IndexStatusOut, responses=errors())
def index_status(rt: Runtime = Depends(runtime)) -> dict[str, object]:
    """What this process's index holds and how current it is."""
    s = rt.sg.matcher.status()
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
    }
