"""A local stand-in for NCMEC's CyberTipline Reporting API ("ispws"), for tests: the same
endpoints, XML and response codes over real HTTP on 127.0.0.1, with the reports it was sent
open to inspection and failures to inject.

In a test:

    with StandIn() as agency:              # user "standin-user", password "standin-pass"
        client = CyberTiplineClient(agency.url, "standin-user", "standin-pass")
        agency.fail("upload", 500)         # the next upload answers HTTP 500
        ...
        assert len(agency.reports) == 1

As a separate process (so a test can kill a client and keep the agency's memory):

    python -m tests.refer.standin --port 0 --state /tmp/agency.json

prints its base URL on the first line of stdout, keeps its state in the JSON file after every
call (and reads it back at start) and serves it at GET /_standin/state; POST
/_standin/fail, /_standin/stall, /_standin/reject and /_standin/expire take the keyword
arguments of the methods of the same names as a JSON object.

What it checks like the real API: Basic auth (2000), the `<report>` and `<fileDetails>` XML
against the bundled XSD (4110 malformed, 4100 invalid, HTTP 400), report and file ids
(5001, 5002), finished (5102) and retracted (5101) reports. Not known of the real API and
chosen here: the HTTP status of errors other than 4100 (see _HTTP_STATUS), the wording of
descriptions, and that sending file details for a file again replaces them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import copy
import hashlib
import json
import os
import signal
import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
import xmlschema
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import safeguard.refer

XSD = Path(safeguard.refer.__file__).parent / "schemas" / "cyber_tipline.xsd"
ENDPOINTS = ("status", "xsd", "submit", "upload", "fileinfo", "finish", "retract")
PREFIX = "/ispws"
FIRST_REPORT_ID = 100_001

#: HTTP status answered with each application error (only 400 for 4100 is documented)
_HTTP_STATUS = {1: 500, 2: 401, 3: 403, 4: 400, 5: 400}


@lru_cache(maxsize=1)
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


@dataclass
class _Injection:
    """What the next calls to an endpoint answer instead of the real thing."""

    times: int
    status: int = 200
    body: bytes = b""
    after: bool = False  # do the work first, then answer this (an answer that is lost)
    delay: float = 0.0
    retry_after: float | None = None
    response_code: int | None = None  # a protocol-level error: answer this code
    description: str = ""
    stall_only: bool = False  # answer normally, only `delay` seconds late

    def response(self) -> Response:
        if self.response_code is not None:
            status = self.status or _HTTP_STATUS.get(self.response_code // 1000, 400)
            return _xml(_report_response(self.response_code, self.description), status)
        headers = {"Retry-After": f"{self.retry_after:g}"} if self.retry_after is not None else {}
        return Response(self.body, self.status, headers=headers, media_type="text/xml")


class _Refused(Exception):
    def __init__(self, code: int, description: str, report_id: str | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.report_id = report_id


class StandIn:
    """The stand-in agency. `reports` maps report id -> {"xml", "files", "finished",
    "retracted"}, `files` mapping file id -> {"name", "size", "md5", "details"}; `calls`
    lists (endpoint, report id or None) for every request that reached an endpoint, in
    order. Both are copies, taken under the lock."""

    def __init__(
        self,
        username: str = "standin-user",
        password: str = "standin-pass",
        *,
        port: int = 0,
        state_file: Path | str | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self._port = port
        self._state_file = Path(state_file) if state_file else None
        self._lock = threading.Lock()
        self._file_lock = threading.Lock()
        self._reports: dict[str, dict[str, Any]] = {}
        self._calls: list[tuple[str, str | None]] = []
        self._next_id = FIRST_REPORT_ID
        self._injections: dict[str, list[_Injection]] = {e: [] for e in ENDPOINTS}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        if self._state_file and self._state_file.exists() and self._state_file.stat().st_size:
            self._load(json.loads(self._state_file.read_text()))
        self.app = Starlette(routes=self._routes())

    # running

    def start(self) -> StandIn:
        schema()  # loaded before the first request, so that one is not slow
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the CyberTipline stand-in did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}{PREFIX}"
        self._persist()
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # failure injection

    def fail(
        self,
        endpoint: str,
        status: int,
        times: int = 1,
        *,
        body: bytes | str = b"",
        after: bool = False,
        delay: float = 0.0,
        retry_after: float | None = None,
    ) -> None:
        """The next `times` calls to `endpoint` answer HTTP `status` with `body` (empty by
        default), before doing anything, or (`after`) once the work is done: an answer lost
        after the agency acted."""
        raw = body.encode() if isinstance(body, str) else body
        self._inject(
            endpoint,
            _Injection(times, status, raw, after=after, delay=delay, retry_after=retry_after),
        )

    def stall(self, endpoint: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls to `endpoint` do their work but answer `seconds` late."""
        self._inject(endpoint, _Injection(times, delay=seconds, after=True, stall_only=True))

    def reject(
        self,
        endpoint: str,
        response_code: int,
        description: str,
        times: int = 1,
        *,
        status: int = 0,
    ) -> None:
        """The next `times` calls to `endpoint` answer the agency's error `response_code`
        (HTTP `status`, by default the one _HTTP_STATUS gives) without doing anything."""
        self._inject(
            endpoint,
            _Injection(times, status, response_code=response_code, description=description),
        )

    def expire(self, report_id: str) -> None:
        """Forget an unfinished report, as NCMEC does an hour after its last change."""
        with self._lock:
            self._reports.pop(str(report_id), None)
        self._persist()

    def _inject(self, endpoint: str, injection: _Injection) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"no endpoint {endpoint!r}: one of {', '.join(ENDPOINTS)}")
        if injection.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._injections[endpoint].append(injection)

    def _take(self, endpoint: str) -> _Injection | None:
        with self._lock:
            queue = self._injections[endpoint]
            if not queue:
                return None
            injection = queue[0]
            injection.times -= 1
            if injection.times == 0:
                queue.pop(0)
            return injection

    # inspection

    @property
    def reports(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._reports)

    @property
    def calls(self) -> list[tuple[str, str | None]]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, endpoint: str) -> int:
        return sum(1 for e, _ in self.calls if e == endpoint)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "reports": copy.deepcopy(self._reports),
                "calls": [list(c) for c in self._calls],
                "next_id": self._next_id,
            }

    def _load(self, state: dict[str, Any]) -> None:
        self._reports = state.get("reports", {})
        self._calls = [(e, r) for e, r in state.get("calls", [])]
        self._next_id = int(state.get("next_id", FIRST_REPORT_ID))

    def _persist(self) -> None:
        if self._state_file is None:
            return
        with self._file_lock:
            text = json.dumps(self.state(), indent=1)
            tmp = self._state_file.with_name(self._state_file.name + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, self._state_file)

    # the API

    def _routes(self) -> list[Route]:
        routes = [
            Route(f"{PREFIX}/status", self._endpoint("status"), methods=["GET"]),
            Route(f"{PREFIX}/xsd", self._endpoint("xsd"), methods=["GET"]),
        ]
        for name in ("submit", "upload", "fileinfo", "finish", "retract"):
            routes.append(Route(f"{PREFIX}/{name}", self._endpoint(name), methods=["POST"]))
        routes += [
            Route("/_standin/state", self._state_route, methods=["GET"]),
            Route("/_standin/{action}", self._control_route, methods=["POST"]),
        ]
        return routes

    def _endpoint(self, name: str) -> Any:
        async def handle(request: Request) -> Response:
            return await self._handle(name, request)

        return handle

    async def _handle(self, name: str, request: Request) -> Response:
        report_id = await _report_id_of(name, request)
        if not self._authorised(request):
            self._record(name, report_id)
            return _xml(_report_response(2000, "Authentication required"), 401, auth=True)
        injection = self._take(name)
        if injection is not None and not injection.after:
            self._record(name, report_id)
            await asyncio.sleep(injection.delay)
            return injection.response()
        try:
            answer, report_id = await self._do(name, request, report_id)
        except _Refused as r:
            status = _HTTP_STATUS.get(r.code // 1000, 400)
            answer = _xml(_report_response(r.code, r.description, r.report_id), status)
        self._record(name, report_id)
        if injection is not None:
            await asyncio.sleep(injection.delay)
            if not injection.stall_only:
                return injection.response()
        return answer

    def _authorised(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == (self.username, self.password)

    def _record(self, name: str, report_id: str | None) -> None:
        with self._lock:
            self._calls.append((name, report_id))
        self._persist()

    async def _do(
        self, name: str, request: Request, report_id: str | None
    ) -> tuple[Response, str | None]:
        if name == "status":
            host = request.client.host if request.client else "?"
            text = f"Remote User : {self.username}, Remote Ip : {host}"
            return _xml(_report_response(0, text)), None
        if name == "xsd":
            return Response(XSD.read_bytes(), media_type="text/xml"), None
        if name == "submit":
            root = _validated(await request.body(), "report")
            with self._lock:
                report_id = str(self._next_id)
                self._next_id += 1
                self._reports[report_id] = {
                    "xml": ET.tostring(root, encoding="unicode"),
                    "files": {},
                    "finished": False,
                    "retracted": False,
                }
            return _xml(_report_response(0, "Success", report_id)), report_id
        if name == "upload":
            form = await request.form()
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or report_id is None:
                raise _Refused(4000, "Invalid request: the form needs id and file", report_id)
            data = await upload.read()
            file_id = uuid.uuid4().hex
            md5 = hashlib.md5(data).hexdigest()
            with self._lock:
                files = self._open_report(report_id)["files"]
                files[file_id] = {
                    "name": upload.filename or "",
                    "size": len(data),
                    "md5": md5,
                    "details": None,
                }
            answer = _report_response(0, "Success", report_id)
            ET.SubElement(answer, "fileId").text = file_id
            ET.SubElement(answer, "hash").text = md5
            return _xml(answer), report_id
        if name == "fileinfo":
            root = _validated(await request.body(), "fileDetails")
            report_id = _child_text(root, "reportId")
            file_id = _child_text(root, "fileId")
            with self._lock:
                files = self._open_report(report_id)["files"]
                if file_id not in files:
                    raise _Refused(5002, "File does not exist", report_id)
                files[file_id]["details"] = ET.tostring(root, encoding="unicode")
            return _xml(_report_response(0, "Success", report_id)), report_id
        if report_id is None:  # finish, retract
            raise _Refused(4000, "Invalid request: the form needs id")
        if name == "finish":
            with self._lock:
                report = self._open_report(report_id)
                report["finished"] = True
                file_ids = list(report["files"])
            done = ET.Element("reportDoneResponse")
            ET.SubElement(done, "responseCode").text = "0"
            ET.SubElement(done, "reportId").text = report_id
            files_el = ET.SubElement(done, "files")
            for fid in file_ids:
                ET.SubElement(files_el, "fileId").text = fid
            return _xml(done), report_id
        # retract
        with self._lock:
            self._open_report(report_id)["retracted"] = True
        return _xml(_report_response(0, "Success", report_id)), report_id

    def _open_report(self, report_id: str | None) -> dict[str, Any]:
        """The report, if it can still change; _Refused otherwise. Call under the lock."""
        report = self._reports.get(report_id or "")
        if report is None:
            raise _Refused(5001, "Report does not exist", report_id)
        if report["retracted"]:
            raise _Refused(5101, "Report already retracted", report_id)
        if report["finished"]:
            raise _Refused(5102, "Report already finished", report_id)
        return report

    # test controls

    async def _state_route(self, request: Request) -> Response:
        return JSONResponse(self.state())

    async def _control_route(self, request: Request) -> Response:
        action = request.path_params["action"]
        actions: dict[str, Callable[..., None]] = {
            "fail": self.fail,
            "stall": self.stall,
            "reject": self.reject,
            "expire": self.expire,
        }
        if action not in actions:
            return JSONResponse({"error": f"no action {action!r}"}, status_code=404)
        try:
            actions[action](**(await request.json()))
        except (TypeError, ValueError) as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse({"ok": True})


# XML


def _report_response(code: int, description: str, report_id: str | None = None) -> ET.Element:
    root = ET.Element("reportResponse")
    ET.SubElement(root, "responseCode").text = str(code)
    ET.SubElement(root, "responseDescription").text = description
    if report_id is not None:
        ET.SubElement(root, "reportId").text = report_id
    return root


def _xml(root: ET.Element, status: int = 200, *, auth: bool = False) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    headers = {"Request-ID": uuid.uuid4().hex}
    if auth:
        headers["WWW-Authenticate"] = 'Basic realm="ispws"'
    return Response(body, status, headers=headers, media_type="text/xml")


def _validated(body: bytes, root_tag: str) -> ET.Element:
    """The document's root, parsed safely and valid against the XSD; _Refused otherwise."""
    try:
        root: ET.Element = SafeET.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as e:
        raise _Refused(4110, f"Malformed XML submittal: {e}") from None
    if root.tag != root_tag:
        raise _Refused(4100, f"Validation failed: the root element must be <{root_tag}>")
    error = next(iter(schema().iter_errors(root)), None)
    if error is not None:
        where = f" at {error.path}" if error.path else ""
        raise _Refused(4100, f"Validation failed{where}: {error.reason}")
    return root


def _child_text(root: ET.Element, name: str) -> str:
    child = root.find(name)
    return (child.text or "").strip() if child is not None else ""


async def _report_id_of(name: str, request: Request) -> str | None:
    """The report a call is about, as far as it can be read (None when it names none)."""
    if name in ("upload", "finish", "retract"):
        try:
            value = (await request.form()).get("id")
        except Exception:  # a body that is no form: the endpoint refuses it later
            return None
        return value.strip() if isinstance(value, str) and value.strip() else None
    if name == "fileinfo":
        try:
            root = SafeET.fromstring(await request.body(), forbid_dtd=True)
        except (ET.ParseError, DefusedXmlException):
            return None
        return _child_text(root, "reportId") or None
    return None


# as a separate process


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a local CyberTipline API stand-in")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--state", type=Path, help="JSON file the state is kept in")
    parser.add_argument("--user", default="standin-user")
    parser.add_argument("--password", default="standin-pass")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    agency = StandIn(args.user, args.password, port=args.port, state_file=args.state).start()
    print(agency.url, flush=True)
    try:
        stop.wait()
    finally:
        agency.stop()


if __name__ == "__main__":
    main()
