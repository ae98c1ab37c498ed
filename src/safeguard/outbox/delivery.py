"""One webhook delivery: the signed HTTP request, and what became of it in words.

The body is JSON: `{"id", "topic", "idempotency_key", "created_at", "payload"}`. The
headers carry `Idempotency-Key`, `X-Safeguard-Topic`, `X-Safeguard-Timestamp` (Unix
seconds) and `X-Safeguard-Signature: sha256=<hex>`, the HMAC-SHA256 of
`"<timestamp>.<body>"` under the endpoint's secret (`signature`; docs/moderation.md shows a
receiver checking it). Any 2xx answer is a delivery; anything else is a failed attempt
described for `safeguard webhooks failed` ("HTTP 500", "timed out after 10 s",
"connection refused"). HTTP needs httpx, from the `server` extra.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from safeguard._version import __version__
from safeguard.extras import require
from safeguard.outbox.claims import Claim

#: an answer that means "this endpoint is gone": trying again cannot help
GONE = 410


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Safeguard-Signature` value of a message."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(claim: Claim) -> bytes:
    envelope = {
        "id": claim.id,
        "topic": claim.topic,
        "idempotency_key": claim.idempotency_key,
        "created_at": claim.created_at.isoformat(),
        "payload": claim.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    detail: str  # "HTTP 200", "connection refused", ...
    seconds: float
    retry: bool = True  # False: no later attempt can succeed (HTTP 410)


class Sender:
    """Posts signed messages over one HTTP client (connections are reused)."""

    def __init__(self, timeout: float) -> None:
        httpx = require("httpx", "server", "delivering webhooks (`safeguard worker`)")
        self.timeout = timeout
        self._httpx: Any = httpx
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": f"safeguard-webhooks/{__version__}"},
        )

    def send(self, claim: Claim, now: datetime) -> Outcome:
        body = body_of(claim)
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": claim.idempotency_key,
            "X-Safeguard-Topic": claim.topic,
            "X-Safeguard-Timestamp": timestamp,
            "X-Safeguard-Signature": signature(claim.secret, timestamp, body),
        }
        started = time.monotonic()
        try:
            # the answer's body is never read: only its status counts
            with self._client.stream("POST", claim.url, content=body, headers=headers) as r:
                status = r.status_code
        except self._httpx.HTTPError as e:
            return Outcome(False, self._describe(e), time.monotonic() - started)
        took = time.monotonic() - started
        if 200 <= status < 300:
            return Outcome(True, f"HTTP {status}", took)
        if 300 <= status < 400:
            return Outcome(False, f"HTTP {status} (redirects are not followed)", took)
        if status == GONE:
            return Outcome(False, f"HTTP {status}: the endpoint says it is gone", took, False)
        return Outcome(False, f"HTTP {status}", took)

    def _describe(self, e: Exception) -> str:
        httpx = self._httpx
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, httpx.ConnectTimeout):
            return f"connection timed out after {self.timeout:g} s"
        if isinstance(e, httpx.TimeoutException):
            return f"timed out after {self.timeout:g} s"
        if isinstance(e, httpx.ConnectError):
            return "connection refused" if "refused" in text.lower() else f"cannot connect: {text}"
        if isinstance(e, httpx.RemoteProtocolError | httpx.DecodingError):
            return f"invalid HTTP response: {text}"
        return f"{type(e).__name__}: {text}"

    def close(self) -> None:
        self._client.close()
