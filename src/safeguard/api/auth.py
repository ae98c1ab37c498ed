"""Bearer API keys with scopes: `Depends(require("match"))` guards a route.

401 without a key (or with an unknown or revoked one), 403 when the key lacks the scope,
429 past the key's rate limit. Verified keys are cached for a couple of seconds, so a
lookup costs no database query; a revoked key is refused within that time. Refused keys
are cached for a second (`KeyCache.negative_ttl`), and each client address may fail
authentication `SAFEGUARD_AUTH_FAILURE_LIMIT` times a minute per process: past that, keys
not already verified are answered 429 with `Retry-After` and cost no query.

`AuthGate` checks the key of a request that carries a body before anything reads the body,
so a caller without a valid key cannot make the server take in a 32 MiB upload.

With `SAFEGUARD_API_OPEN_HMA` the HMA routes (`require(scope, hma=True)`) also take
requests without a key, as HMA does, rate-limited per client address; a key that is sent
is still checked. Only `safeguard serve` on a loopback or private address allows it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from safeguard.access import ApiKeyInfo, KeyService
from safeguard.access.people import Actor
from safeguard.api.errors import ApiError, error_response
from safeguard.api.ratelimit import RateLimiter, retry_after
from safeguard.errors import AccessDenied

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `safeguard keys create`: `Authorization: Bearer sgk_...`",
)


@dataclass(frozen=True)
class Principal:
    key: ApiKeyInfo
    client: str | None = None  # the address of a caller without a key (open HMA routes)

    @property
    def actor(self) -> str:
        return f"key:{self.key.name}" if self.client is None else f"open-hma:{self.client}"

    def acting(self) -> Actor:
        """Who the library acts for: the key's user with that user's roles; a key for no
        user is a service (an admin-scope key acts as admin)."""
        if self.key.user_name is not None:
            return Actor(
                f"user:{self.key.user_name}",
                frozenset(self.key.user_roles),
                user=self.key.user_name,
            )
        if "admin" in self.key.scopes and self.client is None:
            return Actor(self.actor, frozenset({"admin"}))
        return Actor.service(self.actor)


def _keyless(scope: str, client: str) -> Principal:
    """The caller of an open HMA route who sent no key."""
    key = ApiKeyInfo(
        id=0,
        name="open-hma",
        prefix="",
        scopes=(scope,),
        rate_limit=None,
        created_at=datetime.now(UTC),
        created_by="SAFEGUARD_API_OPEN_HMA",
        revoked_at=None,
    )
    return Principal(key, client)


class KeyCache:
    """Verified keys by the SHA-256 of their token, each kept for `ttl` seconds; refused
    tokens for `negative_ttl` seconds, so repeating an unknown key costs no query."""

    def __init__(self, keys: KeyService, ttl: float, negative_ttl: float = 1.0) -> None:
        self.keys = keys
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self._cache: dict[str, tuple[float, ApiKeyInfo | str]] = {}  # str: why refused

    def cached(self, token: str) -> ApiKeyInfo | None:
        """The key of `token` if it was verified less than `ttl` seconds ago (no query)."""
        hit = self._cache.get(hashlib.sha256(token.encode()).hexdigest())
        if hit is not None and type(hit[1]) is ApiKeyInfo and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return None

    async def verify(self, token: str) -> ApiKeyInfo:
        """The key of `token`, or AccessDenied (unknown or revoked)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None:
            age, info = now - hit[0], hit[1]
            if isinstance(info, str) and age < self.negative_ttl:
                raise AccessDenied(info)
            if not isinstance(info, str) and age < self.ttl:
                return info
        try:
            info = await run_in_threadpool(self.keys.verify, token)
        except AccessDenied as e:
            self._put(digest, now, e.message)
            raise
        self._put(digest, now, info)
        return info

    def _put(self, digest: str, now: float, value: ApiKeyInfo | str) -> None:
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, value)


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer ...` header (as HTTPBearer reads it), or None."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, token = get_authorization_scheme_param(value.decode("latin-1"))
            return token if kind.lower() == "bearer" and token else None
    return None


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def authenticate(rt: Any, token: str, client: str) -> ApiKeyInfo:
    """The key of `token`; ApiError 401 if unknown or revoked, 429 while `client` is over
    its budget of failed authentications (then no database query is made)."""
    key = rt.key_cache.cached(token)
    if key is not None:
        return key
    who, limit = f"failed-auth {client}", rt.service.auth_failure_limit
    wait = rt.limiter.wait(who, limit)
    if wait > 0:
        raise _too_many(f"too many requests with unknown or revoked API keys from {client}", wait)
    try:
        return await rt.key_cache.verify(token)
    except AccessDenied as e:
        rt.limiter.take(who, limit)
        raise _unauthorized(e.message) from None


def _too_many(message: str, wait: float) -> ApiError:
    return ApiError(429, message, "rate_limited", {"Retry-After": retry_after(wait)})


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, "unauthenticated", {"WWW-Authenticate": "Bearer"})


def _limit(rt: object, who: str, limit: int) -> None:
    wait = rt.limiter.take(who, limit)  # type: ignore[attr-defined]
    if wait > 0:
        raise _too_many(f"rate limit of {limit} requests per minute exceeded for {who}", wait)


def require(scope: str, *, hma: bool = False) -> Callable[..., Awaitable[Principal]]:
    """The dependency for a route that needs `scope`; `hma` routes may be open (above)."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> Principal:
        rt = request.app.state.runtime
        client = client_address(request.scope)
        if credentials is None or not credentials.credentials:
            if hma and rt.service.open_hma:
                _limit(rt, f"address {client}", rt.service.rate_limit)
                return _keyless(scope, client)
            raise _missing()
        key = await authenticate(rt, credentials.credentials, client)
        if scope not in key.scopes:
            raise ApiError(
                403,
                f"this API key lacks the {scope!r} scope (it has: {', '.join(key.scopes)})",
                "forbidden",
            )
        _limit(rt, f"key {key.name!r}", key.rate_limit or rt.service.rate_limit)
        return Principal(key)

    dependency.__name__ = f"require_{scope}"
    return dependency


def _missing() -> ApiError:
    return _unauthorized("missing API key: send 'Authorization: Bearer sgk_...'")


#: route groups whose every route needs a key (the HMA ones unless SAFEGUARD_API_OPEN_HMA)
_GUARDED = ("/v1/", "/h/", "/m/", "/c/")
_HMA = ("/h/", "/m/", "/c/")


class AuthGate:
    """ASGI middleware: a request with a body to a guarded route must show a valid key
    before the body is read (401 or 429 at once otherwise; the connection then closes
    without the rest being read). The route's own dependency still checks the scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_GUARDED):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        has_body = headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers
        if has_body:
            rt = scope["app"].state.runtime
            token = bearer_token(scope)
            try:
                if token is not None:
                    await authenticate(rt, token, client_address(scope))
                elif not (rt.service.open_hma and scope["path"].startswith(_HMA)):
                    raise _missing()
            except ApiError as e:
                await error_response(e.status, e.message, e.code, e.headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)


__all__ = ["AuthGate", "KeyCache", "Principal", "RateLimiter", "authenticate", "bearer", "require"]
