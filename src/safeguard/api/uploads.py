"""Request bodies: a size limit on every request, reading uploads, and fetching `?url=`.

URL fetching is off unless hosts are allowed (`SAFEGUARD_URL_FETCH_HOSTS`). When on, only
http(s) URLs to an allowed host (or a subdomain of one) are fetched; the host is resolved
once, every address it resolves to must be public (no loopback, private, link-local,
multicast or reserved ranges), and the connection goes to that checked address, so a DNS
answer cannot change between the check and the fetch. Redirects are not followed; the body
is read up to the upload limit within a timeout.
"""

from __future__ import annotations

import asyncio
import functools
import html
import ipaddress
import re
import socket
import ssl
from urllib.parse import urlsplit

import httpx
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safeguard.api.errors import ApiError, error_response
from safeguard.api.settings import ServiceSettings


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body larger than the limit of {limit} bytes", "too_large")


def _refusal(scope: Scope, status: int, message: str, code: str) -> Response:
    """The refusal of a body: JSON for the API, a short page for a web UI form."""
    if not scope["path"].startswith("/ui/"):
        return error_response(status, message, code)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too large · '
        'safeguard</title><link rel="stylesheet" href="/ui/static/app.css"></head><body>'
        f'<main><h1>Not accepted</h1><p class="error-text">{html.escape(message)}</p>'
        "<p>Go back and choose a smaller file, or import a large list with "
        '<code>safeguard bank import</code>. <a href="/ui/">The dashboard</a></p>'
        "</main></body></html>"
    )
    return HTMLResponse(page, status_code=status)


class BodyLimit:
    """ASGI middleware: refuse bodies over `limit` bytes with 413, before the app reads them.

    A declared Content-Length over the limit is refused at once; a chunked body is read up
    to the limit and refused as soon as it passes it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0 or declared > self.limit:
                reason = too_large(self.limit) if declared > self.limit else None
                response = (
                    _refusal(scope, reason.status, reason.message, reason.code)
                    if reason
                    else _refusal(scope, 400, "invalid Content-Length header", "invalid_request")
                )
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        # no length declared (chunked): read it all, within the limit, then replay it
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body = message.get("body", b"")
            size += len(body)
            if size > self.limit:
                e = too_large(self.limit)
                await _refusal(scope, e.status, e.message, e.code)(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def read_upload(file: UploadFile, limit: int) -> bytes:
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    return data


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*\Z")  # \Z: no trailing newline
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _public(addr: str) -> bool:
    """True for a globally routable unicast address, looking inside IPv6 forms that carry
    an IPv4 address (mapped, 6to4, NAT64)."""
    ip = ipaddress.ip_address(addr.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            ip = inner
    return ip.is_global and not ip.is_multicast


def _host_of(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of a URL safe to parse further, or ApiError."""
    if len(url) > 2000:
        raise ApiError(400, "URL longer than 2,000 characters", "invalid_url")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError):
        raise ApiError(400, f"not a valid URL: {url[:200]!r}", "invalid_url") from None
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise ApiError(400, "only plain http(s) URLs with a host can be fetched", "invalid_url")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.match(host):  # NUL bytes, spaces and the like never reach the resolver
            raise ApiError(400, f"not a valid host name: {host[:100]!r}", "invalid_url") from None
    port = port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, target


async def check_url(url: str, service: ServiceSettings) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, path, checked IP) of a URL we may fetch, or ApiError(400/403)."""
    if not service.url_fetch_hosts:
        raise ApiError(
            403,
            "fetching URLs is turned off on this server (set SAFEGUARD_URL_FETCH_HOSTS)",
            "url_fetch_disabled",
        )
    scheme, host, port, target = _host_of(url)
    if not any(host == h or host.endswith("." + h) for h in service.url_fetch_hosts):
        raise ApiError(403, f"host {host!r} is not on the URL allowlist", "url_not_allowed")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ApiError(400, f"cannot resolve host {host!r}", "url_fetch_failed") from None
    addrs = sorted({str(i[4][0]) for i in infos})
    if not addrs:
        raise ApiError(400, f"cannot resolve host {host!r}", "url_fetch_failed")
    if not service.url_fetch_allow_private and not all(_public(a) for a in addrs):
        raise ApiError(
            403,
            f"host {host!r} resolves to a loopback or private address; refused",
            "url_not_allowed",
        )
    return scheme, host, port, target, addrs[0]


async def fetch_url(url: str, service: ServiceSettings, limit: int) -> tuple[bytes, str]:
    """(body, Content-Type) of `url`, fetched under the rules above, all within the timeout."""
    scheme, host, port, target, ip = await check_url(url, service)
    direct = f"{scheme}://{f'[{ip}]' if ':' in ip else ip}:{port}{target}"
    default_port = 443 if scheme == "https" else 80
    headers = {"Host": host if port == default_port else f"{host}:{port}"}
    try:
        async with asyncio.timeout(service.url_fetch_timeout):
            return await _get(direct, headers, host, limit, service.url_fetch_timeout)
    except TimeoutError:
        message = f"fetching the URL took longer than {service.url_fetch_timeout:g} s"
        raise ApiError(400, message, "url_fetch_failed") from None
    except httpx.HTTPError as e:
        message = f"fetching the URL failed: {type(e).__name__}"
        raise ApiError(400, message, "url_fetch_failed") from None


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every fetch: httpx would build one per client, loading the CA
    bundle each time (about 25 ms of CPU, on the event loop, for every `?url=`)."""
    return httpx.create_ssl_context()


async def _get(
    url: str, headers: dict[str, str], host: str, limit: int, timeout: float
) -> tuple[bytes, str]:
    async with (
        httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=_tls()) as client,
        client.stream("GET", url, headers=headers, extensions={"sni_hostname": host}) as response,
    ):
        if response.status_code != 200:
            raise ApiError(
                400, f"fetching the URL gave HTTP {response.status_code}", "url_fetch_failed"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"the fetched file is larger than {limit} bytes", "too_large")
            chunks.append(chunk)
        return b"".join(chunks), response.headers.get("content-type", "")
