"""Admin routes: API keys, the audit trail (change log) and Prometheus metrics. Scope: admin."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from safeguard.api.auth import Principal, require
from safeguard.api.errors import ApiError, ErrorBody
from safeguard.api.metrics import render
from safeguard.api.models import ChangePage, KeyCreate, KeyCreated, KeyOut
from safeguard.api.routes.common import after_query, errors
from safeguard.api.runtime import Runtime, runtime

admin = require("admin")
router = APIRouter(tags=["admin"])


@router.get("/v1/keys", response_model=list[KeyOut], responses=errors())
def list_keys(
    include_revoked: bool = Query(False),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(admin),
) -> list[dict[str, object]]:
    """API keys (never their secrets)."""
    return [k.to_json() for k in rt.keys(who.actor).list(include_revoked=include_revoked)]


@router.post("/v1/keys", status_code=201, response_model=KeyCreated, responses=errors(400))
def create_key(
    body: KeyCreate, rt: Runtime = Depends(runtime), who: Principal = Depends(admin)
) -> dict[str, object]:
    """Create a key; the response holds its secret, which is not stored anywhere."""
    new = rt.keys(who.actor).create(body.name, body.scopes, rate_limit=body.rate_limit)
    return {**new.info.to_json(), "key": new.token}


@router.delete(
    "/v1/keys/{name}",
    response_model=KeyOut,
    responses={
        **errors(404),
        409: {"model": ErrorBody, "description": "The key is the one making the request"},
    },
)
def revoke_key(
    name: str, rt: Runtime = Depends(runtime), who: Principal = Depends(admin)
) -> dict[str, object]:
    """Revoke a key (kept, marked revoked); servers refuse it within seconds. A key cannot
    revoke itself (409: use another admin key, or `safeguard keys revoke`)."""
    if name == who.key.name:
        raise ApiError(409, "a key cannot revoke itself", "conflict")
    return rt.keys(who.actor).revoke(name).to_json()


@router.get("/v1/changes", response_model=ChangePage, responses=errors())
def list_changes(
    after: int = after_query("change"),
    limit: int = Query(100, ge=1, le=1000),
    rt: Runtime = Depends(runtime),
    _: Principal = Depends(admin),
) -> dict[str, object]:
    """The append-only audit trail: who changed what, when."""
    items = [c.to_json() for c in rt.sg.changes(after, limit)]
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


@router.get(
    "/metrics",
    responses={**errors(), 200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    response_class=Response,
)
def metrics(rt: Runtime = Depends(runtime), _: Principal = Depends(admin)) -> Response:
    """Prometheus metrics of every worker process, and the webhook outbox."""
    body, content_type = render(rt.sg.db)
    return Response(body, media_type=content_type)
