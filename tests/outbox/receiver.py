"""A platform's webhook receiver for the tests: a real HTTP server on 127.0.0.1 that records
every request (headers and body) and can be told to fail, hang or answer garbage.

It acts on a message at most once per `Idempotency-Key`, as a platform should: `actions`
lists the keys it acted on, so a redelivery after a crash shows as a second request with
no second action.

Behaviour by path: `/` takes the next step queued with `then(...)` (then answers 200);
`/hang` holds the request until `release` is set; `/garbage` answers bytes that are not
HTTP; `/status/NNN` answers that status.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any


class _QuietServer(http.server.ThreadingHTTPServer):
    """A sender that goes away mid-request (a worker killed on purpose) is expected here:
    not worth a traceback in the test output."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float

    @property
    def key(self) -> str:
        return self.headers["idempotency-key"]

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.actions: list[str] = []
        self.got_request = threading.Event()
        self.release = threading.Event()
        self.delay = 0.0  # seconds before answering a 200
        self._steps: deque[object] = deque()
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        serve = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def then(self, *steps: object) -> None:
        """Queue what the next requests to `/` get: an HTTP status, "hang", "garbage" or
        "ok"; after them, 200."""
        self._steps.extend(steps)

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} requests"
            time.sleep(0.01)

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    # -- called by the handler -----------------------------------------------------------

    def _record(self, r: Received) -> object:
        with self._lock:
            self.received.append(r)
            if r.path == "/":
                return self._steps.popleft() if self._steps else "ok"
            if r.path.startswith("/status/"):
                return int(r.path.rsplit("/", 1)[1])
            return r.path.strip("/")

    def _act(self, key: str) -> None:
        with self._lock:
            if key not in self.actions:
                self.actions.append(key)


def _handler(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            step = receiver._record(Received(self.path, headers, body, time.monotonic()))
            receiver.got_request.set()
            try:
                if step == "garbage":
                    self.wfile.write(b"\x00\x01 this is no HTTP answer\r\n\r\n")
                    self.close_connection = True
                    return
                if isinstance(step, int):
                    self._answer(step)
                    return
                # "ok" or "hang": the platform acts on it (once per key), then answers
                receiver._act(headers["idempotency-key"])
                if step == "hang":
                    receiver.release.wait(30)
                time.sleep(receiver.delay)
                self._answer(200)
            except OSError:  # the worker went away (killed, or timed out)
                self.close_connection = True

        def _answer(self, status: int) -> None:
            payload = b'{"ok": true}' if status < 300 else b'{"error": "no"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    return Handler
