"""URLs as signals: lists of web addresses (a hotline's URL list, Ofcom's CSAM URL measure).

A URL is listed and looked up in one canonical form, so the spellings of one address match:
the scheme is dropped (http and https alike), the host lower-cased and its international
form written in ASCII (IDNA), default ports, user names, fragments and tracking parameters
(utm_*, fbclid, gclid...) removed, percent-encoding written one way, `.` and `..` path
segments resolved, repeated and trailing slashes dropped, and the remaining query
parameters sorted: `HTTPS://Example.COM:443/a/./b/?utm_source=x&z=1&y=2#top` is
`example.com/a/b?y=2&z=1`.

A listed value matches that address exactly, or, ending in `/*`, every address under it:
`example.com/folder/*` matches `example.com/folder` and everything below it,
`example.com/*` the whole host, and `*.example.com/*` the host and all its subdomains.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from safeguard.errors import InvalidSignal
from safeguard.index.exact import ExactIndex
from safeguard.signals.base import SignalType

if TYPE_CHECKING:
    from safeguard.index.base import SignalIndex

#: the longest URL accepted (browsers and lists rarely go past a few thousand characters)
MAX_LENGTH = 4096
#: query parameters that only track where a link was shared; they never change the page
TRACKING = re.compile(
    r"^(utm_[a-z0-9_]*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|"
    r"yclid|_hsenc|_hsmi|mkt_tok|si|ref_src|ref_url)$",
    re.IGNORECASE,
)
_SCHEMES = ("http", "https", "")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
#: characters left as they are in a canonical path or query (the rest percent-encoded)
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
_QUERY_SAFE = "!$'()*+,;:@-._~/?"
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_WILD = "*"


def canonical_url(text: str) -> str:
    """The canonical form of a URL or listed URL pattern (see the module docstring), or
    InvalidSignal naming what is wrong with it."""
    if not isinstance(text, str):
        raise InvalidSignal("url value must be a string")
    raw = text.strip()
    if not raw:
        raise InvalidSignal("url value is empty")
    if len(raw) > MAX_LENGTH:
        raise InvalidSignal(f"url is longer than {MAX_LENGTH} characters")
    if any(ord(c) < 32 or c == "\x7f" for c in raw):
        raise InvalidSignal("url has a control character")
    prefix = raw.endswith("/*")
    if prefix:
        raw = raw[:-2]
    if not _SCHEME.match(raw) and not raw.startswith("//"):
        raw = "//" + raw  # no scheme: a list's usual spelling (example.com/path)
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as e:
        raise InvalidSignal(f"url {text.strip()[:80]!r} cannot be read: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise InvalidSignal(f"url scheme {scheme!r} is not http or https")
    host = _host(parts.hostname or "", text)
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    if port is not None and port not in (80, 443):  # the scheme goes, and its default port
        host = f"{host}:{port}"
    path = _path(parts.path)
    query = _query(parts.query)
    value = host + path + (f"?{query}" if query else "")
    if prefix:
        if query:
            raise InvalidSignal("a url pattern ending in /* cannot have a query")
        value = f"{value}/*"
    elif host.startswith(_WILD):
        raise InvalidSignal("a url with *. before its host must end in /* (a pattern)")
    return value


def _host(host: str, text: str) -> str:
    host = host.rstrip(".").lower()
    wild = host.startswith("*.")
    if wild:
        host = host[2:]
    if not host:
        raise InvalidSignal(f"url {text.strip()[:80]!r} has no host")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidSignal(f"url host {host[:80]!r} is not a valid domain name") from None
    if not _HOST.match(host) and not _ipv6(host):
        raise InvalidSignal(f"url host {host[:80]!r} is not a valid domain name or address")
    return f"*.{host}" if wild else host


def _ipv6(host: str) -> bool:
    return bool(host) and all(c in "0123456789abcdef:." for c in host) and ":" in host


def _unquoted(text: str) -> str:
    """Percent-decoded until nothing changes (lists hold doubly encoded spellings too)."""
    for _ in range(4):
        again = unquote(text)
        if again == text:
            break
        text = again
    return text


def _path(path: str) -> str:
    path = _unquoted(path)
    if not path or path == "/":
        return ""
    clean = posixpath.normpath("/" + re.sub("/{2,}", "/", path).lstrip("/"))
    clean = "" if clean == "/" else clean.rstrip("/")
    return quote(clean, safe=_PATH_SAFE)


def _query(query: str) -> str:
    pairs = [
        (_unquoted(k), _unquoted(v))
        for k, v in parse_qsl(query, keep_blank_values=True)
        if not TRACKING.match(k)
    ]
    return urlencode(sorted(pairs), safe=_QUERY_SAFE, quote_via=quote)


def lookup_keys(value: str) -> list[str]:
    """The listed values that match canonical URL `value`: itself, the `/*` pattern of each
    of its path prefixes, and the `*.` pattern of its host and each parent domain."""
    if value.endswith("/*"):
        return [value]
    address = value.split("?", 1)[0]
    host, _, path = address.partition("/")
    keys = [value]
    segments = path.split("/") if path else []
    for n in range(len(segments), -1, -1):
        keys.append("/".join([host, *segments[:n]]) + "/*")
    if not host.startswith("["):  # a domain name (an address has no parent domains)
        name, colon, port = host.partition(":")
        labels = name.split(".")
        for n in range(len(labels) - 1):
            keys.append("*." + ".".join(labels[n:]) + colon + port + "/*")
    return keys


class UrlIndex(ExactIndex):
    """URLs and URL patterns by canonical value: a lookup tries each `lookup_keys` form."""

    def query(self, value: str, max_distance: int = 0) -> list[tuple[int, int]]:
        found: set[int] = set()
        for key in lookup_keys(value):
            found.update(self._by_value.get(key, ()))
        return [(i, 0) for i in sorted(found)]


class UrlSignal(SignalType):
    name = "url"
    aliases = ("uri",)  # ThreatExchange's indicator type
    description = (
        "a web address, matched in canonical form exactly, or under a listed pattern "
        "ending in /* (example.com/folder/*, *.example.com/*)"
    )
    example = "example.com/folder/page?id=7"
    content_types = ("url",)

    @classmethod
    def validate(cls, value: str) -> str:
        return canonical_url(value)

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return 0 if b in lookup_keys(a) or a in lookup_keys(b) else 1

    @classmethod
    def make_index(cls, ids: Sequence[int], values: Sequence[str]) -> SignalIndex:
        index = UrlIndex()
        index.add(zip(ids, values, strict=True))
        return index
