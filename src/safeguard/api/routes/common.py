"""Pieces the route modules share: documented error responses and small converters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Send

from safeguard.api.errors import ApiError, ErrorBody
from safeguard.api.runtime import Runtime
from safeguard.api.uploads import too_large
from safeguard.banks import BankInfo, ContentInfo
from safeguard.engine import Purpose
from safeguard.errors import FileProblem
from safeguard.matching import MatchResult
from safeguard.signals.files import FileSignals

#: ids are 64-bit database integers
MAX_ID = 2**63 - 1
ContentId = Annotated[int, Path(ge=1, le=MAX_ID, description="content id")]


def after_query(what: str) -> Any:
    return Query(0, ge=0, le=MAX_ID, description=f"{what} id to start after")


_WHY = {
    400: "Bad input: the message names the problem",
    401: "Missing, unknown or revoked API key",
    403: "The API key lacks the scope this route needs",
    404: "No such bank, content item, key, case, user, webhook or rule-set version",
    409: "The name is taken, or someone else changed or decided it first",
    413: "Request body, fetched file or image (pixels, decode memory) over a limit",
    415: "An upload route got something other than multipart/form-data",
    429: "Over the key's rate limit (see Retry-After)",
    503: "The match index is still loading, or decodes are busy (see Retry-After)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can give (401, 403, 429 always)."""
    wanted = sorted({401, 403, 429, *codes})
    return {c: {"model": ErrorBody, "description": _WHY[c]} for c in wanted}


#: hashing results that fail the request (docs/api.md): an image or a video too large to
#: decode within the limits (413), or no decode memory free within SAFEGUARD_DECODE_WAIT (503)
REFUSED: dict[str, tuple[int, dict[str, str] | None]] = {
    "too_many_pixels": (413, None),
    "over_decode_budget": (413, None),
    "frames_too_large": (413, None),
    "too_long": (413, None),
    "busy": (503, {"Retry-After": "1"}),
}


def bank_json(info: BankInfo) -> dict[str, object]:
    d = info.to_json()
    d.pop("id", None)
    return d


def content_json(info: ContentInfo) -> dict[str, object]:
    return info.to_json()


def result_json(result: MatchResult) -> dict[str, object]:
    return {"matched": result.matched, **result.to_json()}


async def send_json(send: Send, body: bytes) -> None:
    """A 200 JSON response straight from ASGI (the fast paths: FastMatch, FastEvents)."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def hash_bytes(rt: Runtime, data: bytes, name: str, purpose: Purpose = "hash") -> FileSignals:
    """Signals of uploaded or fetched bytes, computed off the event loop, as `purpose` needs
    them (`Safeguard.hash_for`: "match" adds what lookups use, "add" what banks keep)."""
    return _unless_refused(await run_in_threadpool(rt.sg.hash_for, data, name, purpose))


def _unless_refused(signals: FileSignals) -> FileSignals:
    """The signals, or the HTTP error of a refused file (REFUSED)."""
    code = signals.error_code or ""
    refused_as = REFUSED.get(code)
    if refused_as is not None:
        status, headers = refused_as
        raise ApiError(status, signals.error or "image refused", code, headers)
    return signals


async def hash_upload(rt: Runtime, upload: UploadFile, purpose: Purpose = "hash") -> FileSignals:
    """Hash an upload within the size limit, from the file the server spooled it to (a
    video is read from there, never whole into memory), off the event loop."""
    limit = rt.service.max_upload_bytes
    name = upload.filename or "upload"
    try:
        signals = await run_in_threadpool(rt.sg.hash_upload, upload.file, name, limit, purpose)
    except FileProblem as e:
        problem = too_large(limit) if e.code == "too_large" else ApiError(400, e.message, e.code)
        raise problem from None
    return _unless_refused(signals)
