"""A local stand-in for NCMEC's hash-sharing API (v2), enough of it for python-threatexchange's
client to fetch from: `GET /v2/entries?from=&to=` (entries whose time is in [from, to), by
pages of `size`, with a `paging/next` link), basic authentication, tombstones for deleted
entries, and a switch that fails the next requests with 500 (a service that goes away half
way). Entries are synthetic: random PDQ and MD5 values, no media. Written from the shapes the
client parses (threatexchange/exchanges/clients/ncmec/hash_api.py), not from NCMEC's code."""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
NS = "https://hashsharing.ncmec.org/hashsharing/v2"


@dataclass
class Entry:
    id: str
    at: int  # seconds since the epoch
    member: int = 42
    md5: str = ""
    pdq: str = ""
    deleted: bool = False

    def xml(self) -> str:
        tag = "deletedImage" if self.deleted else "image"
        prints = "".join(f"<{k}>{v}</{k}>" for k, v in (("md5", self.md5), ("pdq", self.pdq)) if v)
        body = f'<id>{escape(self.id)}</id><member id="{self.member}">Example ESP</member>' + (
            ""
            if self.deleted
            else f"<classification>A1</classification><fingerprints>{prints}</fingerprints>"
        )
        return f"<{tag}>{body}</{tag}>"


class NcmecStandIn:
    def __init__(self, user: str = "esp", password: str = "secret", page: int = 2) -> None:
        self.entries: list[Entry] = []
        self.page = page
        # answer 500 to a page starting at this entry or later (a service gone half way)
        self.fail_from: int | None = None
        self.served = 0
        self.user, self.password = user, password
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}/hashsharing"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, query: dict[str, list[str]]) -> str:
        start = _ts(query["from"][0])
        end = _ts(query["to"][0])
        offset = int(query.get("start", ["0"])[0])
        chosen = sorted(
            (e for e in self.entries if start <= e.at < end), key=lambda e: (e.at, e.id)
        )
        page = chosen[offset : offset + self.page]
        more = offset + self.page < len(chosen)
        latest = max((e.at for e in page), default=start)
        images = "".join(e.xml() for e in page)
        paging = ""
        if more:
            params = {
                "from": query["from"][0],
                "to": query["to"][0],
                "start": offset + self.page,
                "size": self.page,
                "max": len(chosen),
            }
            paging = f"<paging><next>/v2/entries?{escape(urlencode(params))}</next></paging>"
        stamp = datetime.fromtimestamp(latest, UTC).strftime(FORMAT)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="{NS}">'
            f'<images maxTimestamp="{stamp}" count="{len(page)}">{images}</images>'
            f"{paging}</queryResult>"
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                expected = base64.b64encode(f"{outer.user}:{outer.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._send(401, "<error>unauthorised</error>")
                    return
                url = urlsplit(self.path)
                if not url.path.endswith("/v2/entries"):
                    self._send(404, "<error>not found</error>")
                    return
                offset = int(parse_qs(url.query).get("start", ["0"])[0])
                if outer.fail_from is not None and offset >= outer.fail_from:
                    self._send(500, "<error>unavailable</error>")
                    return
                outer.served += 1
                self._send(200, outer._answer(parse_qs(url.query)))

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _ts(text: str) -> int:
    return int(datetime.strptime(text, FORMAT).replace(tzinfo=UTC).timestamp())


def now() -> int:
    return int(time.time())
