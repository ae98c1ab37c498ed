"""Errors as JSON: `{"message": ..., "code": ...}` with a status that fits, never a traceback.

`message` is the key HMA clients read; `code` is stable for programs. Library errors
(`SafeguardError`) map to 4xx by their code; request validation failures are 422 (with
FastAPI's `detail` list kept), or 415 when an upload route got no multipart body.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from safeguard.errors import SafeguardError

log = logging.getLogger("safeguard.api")

_STATUS = {
    "bank_not_found": 404,
    "content_not_found": 404,
    "key_not_found": 404,
    "bank_exists": 409,
    "conflict": 409,
    "index_not_ready": 503,
    "access_denied": 401,
    "forbidden": 403,
    "user_not_found": 404,
    "case_not_found": 404,
    "not_found": 404,
    "already_exists": 409,
    "agency_error": 502,
    "peer_error": 502,
}


class ApiError(Exception):
    """An HTTP error raised by a route: status, message and code, plus optional headers."""

    def __init__(
        self, status: int, message: str, code: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers


class ErrorBody(BaseModel):
    message: str
    code: str


def error_response(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"message": message, "code": code}, status_code=status, headers=headers)


def status_for(e: SafeguardError) -> int:
    return _STATUS.get(e.code, 400)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, e.message, e.code, e.headers)

    @app.exception_handler(SafeguardError)
    async def _safeguard_error(_: Request, e: SafeguardError) -> JSONResponse:
        message = "; ".join(line.strip() for line in e.message.splitlines() if line.strip())
        return error_response(status_for(e), message, e.code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        errors = e.errors()
        ctype = request.headers.get("content-type", "")
        if _route_takes_upload(request) and not ctype.startswith("multipart/form-data"):
            return error_response(
                415, "expected a multipart/form-data upload", "unsupported_media_type"
            )
        first = errors[0] if errors else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        body = {"message": message, "code": "invalid_request", "detail": _plain(errors)}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        headers = getattr(e, "headers", None)
        if e.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return error_response(e.status_code, str(e.detail), code, headers)

    @app.exception_handler(Exception)
    async def _bug(_: Request, e: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, f"internal error: {type(e).__name__}", "internal_error")


def allowed_methods(request: Request) -> str:
    """`Allow` for a 405: every method the path answers. (Starlette's names only those of
    the first route with the path, where a path has one route per method.)"""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def _route_takes_upload(request: Request) -> bool:
    body = getattr(request.scope.get("route"), "body_field", None)
    return body is not None and isinstance(body.field_info, params.Form)


def _plain(errors: object) -> object:
    """Validation errors made JSON-safe (pydantic may put exceptions in `ctx`)."""
    if isinstance(errors, list | tuple):
        return [_plain(e) for e in errors]
    if isinstance(errors, dict):
        return {k: _plain(v) for k, v in errors.items() if k != "input"}
    if isinstance(errors, str | int | float | bool) or errors is None:
        return errors
    return str(errors)
