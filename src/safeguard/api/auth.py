"""Bearer API keys with scopes: `Depends(require("match"))` guards a route.

401 without a key (or with an unknown or revoked one), 403 when the key lacks the scope,
429 past the key's rate limit. Verified keys are cached for a couple of seconds, so a
lookup costs no database query; a revoked key is refused within that time.

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

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from safeguard.access import ApiKeyInfo, KeyService
from safeguard.api.errors import ApiError
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
    """Verified keys by the SHA-256 of their token, each kept for `ttl` seconds."""

    def __init__(self, keys: KeyService, ttl: float) -> None:
        self.keys = keys
        self.ttl = ttl
        self._cache: dict[str, tuple[float, ApiKeyInfo]] = {}

    async def verify(self, token: str) -> ApiKeyInfo:
        digest = hashlib.sha256(token.encode()).hexdigest()
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        info = await run_in_threadpool(self.keys.verify, token)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, info)
        return info


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, "unauthenticated", {"WWW-Authenticate": "Bearer"})


def _limit(rt: object, who: str, limit: int) -> None:
    wait = rt.limiter.take(who, limit)  # type: ignore[attr-defined]
    if wait > 0:
        raise ApiError(
            429,
            f"rate limit of {limit} requests per minute exceeded for {who}",
            "rate_limited",
            {"Retry-After": retry_after(wait)},
        )


def require(scope: str, *, hma: bool = False) -> Callable[..., Awaitable[Principal]]:
    """The dependency for a route that needs `scope`; `hma` routes may be open (above)."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> Principal:
        rt = request.app.state.runtime
        if credentials is None or not credentials.credentials:
            if hma and rt.service.open_hma:
                client = request.client.host if request.client else "unknown"
                _limit(rt, f"address {client}", rt.service.rate_limit)
                return _keyless(scope, client)
            raise _unauthorized("missing API key: send 'Authorization: Bearer sgk_...'")
        try:
            key = await rt.key_cache.verify(credentials.credentials)
        except AccessDenied as e:
            raise _unauthorized(e.message) from None
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


__all__ = ["KeyCache", "Principal", "RateLimiter", "bearer", "require"]
