"""`/v1/events` (scope: events) and `/v1/cases`, `/v1/quarantine` (scope: review): the act
and review loop over HTTP. The key's user decides what a caller may see and decide
(child-safety cases: specialists and admins only); the library checks it, so the CLI and
the web UI answer the same.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safeguard.access.people import Actor
from safeguard.api.auth import Principal, bearer_token, require
from safeguard.api.errors import ApiError, ErrorBody
from safeguard.api.models import TEXT_SPEC
from safeguard.api.routes.common import MAX_ID, errors, send_json
from safeguard.api.runtime import Runtime, runtime
from safeguard.api.uploads import fetch_url, read_upload
from safeguard.errors import InvalidRequest, SafeguardError

events_scope = require("events")
review_scope = require("review")
events = APIRouter(tags=["events"])
review = APIRouter(tags=["review"])

#: events in one request
MAX_EVENTS = 1000
CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="case id")]
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "Decided or claimed by someone else"}
}


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[dict[str, Any]] = Field(..., min_length=1, max_length=MAX_EVENTS)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["confirmed", "not_abuse", "escalate"]
    add_to_bank: str | None = Field(None, max_length=100, json_schema_extra=TEXT_SPEC)
    negative_bank: str | None = Field(None, max_length=100, json_schema_extra=TEXT_SPEC)
    note: str = Field("", max_length=5000, json_schema_extra=TEXT_SPEC)


async def _judge(rt: Runtime, actor: Actor, raw: list[dict[str, Any]]) -> list[dict[str, object]]:
    """Verdicts for raw events: each parsed (a problem is that event's error), URLs fetched
    under the server's rules, then all judged together off the event loop."""
    from safeguard.act import EventInput

    parsed: list[EventInput | SafeguardError] = []
    media: dict[int, bytes] = {}
    for n, obj in enumerate(raw):
        try:
            event = EventInput.from_json(obj)
            if event.path:
                raise InvalidRequest(
                    'upload event: "path" is for the CLI; over HTTP send "hashes", a "url", '
                    "or the file to POST /v1/events/upload"
                )
            if event.url:
                data, _ = await fetch_url(event.url, rt.service, rt.service.max_upload_bytes)
                media[n] = data
        except SafeguardError as e:
            parsed.append(e)
            continue
        except ApiError as e:
            parsed.append(InvalidRequest(e.message))
            continue
        parsed.append(event)
    service = rt.sg.events_for(actor)
    verdicts = await run_in_threadpool(service.submit_many, parsed, media=media)
    return [v.to_json() for v in verdicts]


@events.post("/v1/events", responses=errors(400, 413))
async def submit_events(
    body: EventsIn, rt: Runtime = Depends(runtime), who: Principal = Depends(events_scope)
) -> dict[str, object]:
    """Judge events (uploads by `hashes` or `url`, user reports, pathways flags): each gets
    `verdict` (allow, hold, block), the `rules` that fired and the `case_id` it joined, or
    its own `error`. Resubmitting an event `id` answers its first verdict."""
    return {"verdicts": await _judge(rt, who.acting(), body.events)}


@events.post("/v1/events/upload", responses=errors(400, 413, 415))
async def submit_upload(
    file: UploadFile = File(..., description="The uploaded media"),
    account_id: str = Form(..., min_length=1, max_length=200),
    id: str | None = Form(None, max_length=200),
    where: str | None = Form(None, max_length=200),
    media_ref: str | None = Form(None, max_length=200),
    account_age_band: str | None = Form(None, max_length=200),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(events_scope),
) -> dict[str, object]:
    """Judge one upload sent as the file itself (multipart); the media is hashed, never kept."""
    from safeguard.act import EventInput

    data = await read_upload(file, rt.service.max_upload_bytes)
    fields = {"kind": "upload", "account_id": account_id, "id": id, "where": where}
    fields.update(media_ref=media_ref or file.filename, account_age_band=account_age_band)
    try:
        event = EventInput.from_json({k: v for k, v in fields.items() if v}, with_media=True)
    except SafeguardError as e:
        raise ApiError(400, e.message, e.code) from None
    service = rt.sg.events_for(who.acting())
    verdict = await run_in_threadpool(service.submit, event, media=data)
    if not verdict.ok:
        raise ApiError(
            400, verdict.error or "event refused", verdict.error_code or "invalid_request"
        )
    return verdict.to_json()


@review.get("/v1/cases", responses=errors(400))
def list_cases(
    state: str | None = Query(None, max_length=20),
    account_id: str | None = Query(None, max_length=200),
    after: int = Query(0, ge=0, le=MAX_ID),
    limit: int = Query(100, ge=1, le=1000),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(review_scope),
) -> list[dict[str, object]]:
    """Cases the key's user may see, highest priority and oldest first."""
    svc = rt.sg.cases_for(who.acting())
    return [
        c.to_json() for c in svc.list(state=state, account_id=account_id, limit=limit, after=after)
    ]


@review.get("/v1/cases/{case_id}", responses=errors(404))
def show_case(
    case_id: CaseId, rt: Runtime = Depends(runtime), who: Principal = Depends(review_scope)
) -> dict[str, object]:
    """A case with its items (matches, reports, flags, decisions); viewing is audited."""
    return rt.sg.cases_for(who.acting()).get(case_id).to_json()


@review.post("/v1/cases/{case_id}/claim", responses={**errors(404), **_CONFLICT})
def claim_case(
    case_id: CaseId, rt: Runtime = Depends(runtime), who: Principal = Depends(review_scope)
) -> dict[str, object]:
    return rt.sg.cases_for(who.acting()).claim(case_id).to_json()


@review.post("/v1/cases/{case_id}/release", responses=errors(404))
def release_case(
    case_id: CaseId, rt: Runtime = Depends(runtime), who: Principal = Depends(review_scope)
) -> dict[str, object]:
    return rt.sg.cases_for(who.acting()).release(case_id).to_json()


@review.post("/v1/cases/{case_id}/decision", responses={**errors(400, 404), **_CONFLICT})
def decide_case(
    case_id: CaseId,
    body: DecisionIn,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(review_scope),
) -> dict[str, object]:
    """Decide a case: `confirmed` (with `add_to_bank` to bank its media's hashes),
    `not_abuse` (its hashes go to a negative bank), `escalate`. The first decision wins."""
    svc = rt.sg.cases_for(who.acting())
    return svc.decide(
        case_id,
        body.decision,
        add_to_bank=body.add_to_bank,
        negative_bank=body.negative_bank,
        note=body.note,
    ).to_json()


@review.get("/v1/quarantine", responses=errors())
def list_quarantine(
    include_released: bool = Query(False),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(review_scope),
) -> list[dict[str, object]]:
    """Bank entries paused by flood quarantine."""
    return [q.to_json() for q in rt.sg.floods.list(who.acting(), include_released=include_released)]


@review.post("/v1/quarantine/{content_id}/release", responses=errors(404))
def release_entry(
    content_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(review_scope),
) -> dict[str, object]:
    return rt.sg.floods.release(content_id, who.acting()).to_json()


#: bodies FastEvents reads itself; larger ones go to the route
_FAST_BODY = 1 << 20


class FastEvents:
    """ASGI middleware: answers a plain `POST /v1/events` (JSON, a key verified in the last
    seconds with the events scope, within its rate limit, `{"events": [...]}` of at most
    MAX_EVENTS objects) itself, as the route would, without FastAPI's routing and
    dependency solving (they cost more than judging an event). Anything else goes on to the
    route, with the body it read handed on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route: object = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/events" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        if (
            not length.isdigit()
            or int(length) > _FAST_BODY
            or b"json" not in headers.get(b"content-type", b"")
        ):
            await self.app(scope, receive, send)
            return
        body, ended = await _read(receive, int(length))
        answer = await self._answer(scope, body) if ended else None
        if answer is None:
            await self.app(scope, _replay(body, receive, ended), send)
            return
        await send_json(send, answer)

    async def _answer(self, scope: Scope, body: bytes) -> bytes | None:
        rt: Runtime = scope["app"].state.runtime
        token = bearer_token(scope)
        key = rt.key_cache.cached(token) if token else None
        if key is None or "events" not in key.scopes:
            return None
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        raw = doc.get("events") if isinstance(doc, dict) and len(doc) == 1 else None
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_EVENTS:
            return None
        if not all(isinstance(e, dict) for e in raw):
            return None
        limit = key.rate_limit or rt.service.rate_limit
        if rt.limiter.take(f"key {key.name!r}", limit) > 0:
            return None  # the route answers 429 (its take is refused too)
        verdicts = await _inline(rt, Principal(key).acting(), raw)
        if verdicts is None:
            verdicts = await _judge(rt, Principal(key).acting(), raw)
        if self.route is None:
            self.route = next(r for r in events.routes if getattr(r, "path", None) == "/v1/events")
        scope["route"] = self.route
        return json.dumps(
            {"verdicts": verdicts}, ensure_ascii=False, separators=(",", ":"), default=str
        ).encode()


async def _inline(
    rt: Runtime, actor: Actor, raw: list[dict[str, Any]]
) -> list[dict[str, object]] | None:
    """Verdicts of events judged without reading the database (EventService.judge_inline;
    what they found is written off the event loop), or None."""
    from safeguard.act import EventInput

    try:
        parsed = [EventInput.from_json(e) for e in raw]
    except SafeguardError:
        return None
    service = rt.sg.events_for(actor)
    judgement = service.judge_inline(parsed)
    if judgement is None and await run_in_threadpool(service.warm_inline, parsed):
        judgement = service.judge_inline(parsed)  # with what the caches lacked read in
    if judgement is None:
        return None
    return [v.to_json() for v in await service.finish_async(judgement)]


async def _read(receive: Receive, length: int) -> tuple[bytes, bool]:
    """Up to `length` bytes of the body, and whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), size <= length
        if size > length:
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive, ended: bool) -> Receive:
    """A `receive` that gives the app the body already read, then the rest as it comes."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not ended}
        return await receive()

    return replay
