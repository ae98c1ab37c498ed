"""The client of NCMEC's CyberTipline Reporting API ("ispws"): open a report, upload its
files and their details, finish it, or retract it; every answer checked, every refusal an
AgencyError that says what happened and what to do.

The protocol (NCMEC's "CyberTipline Reporting API Technical Documentation"): HTTP Basic
auth; `POST /submit` takes the `<report>` XML and answers a `<reportResponse>` with the
report id; `POST /upload` (multipart: `id`, `file`) answers the file id and the MD5 the agency
computed; `POST /fileinfo` takes `<fileDetails>` XML; `POST /finish` (form `id`) answers a
`<reportDoneResponse>` listing the file ids; `POST /retract` (form `id`) cancels an
unfinished report; `GET /status` checks connection and credentials; `GET /xsd` serves the
current schema. Every answer carries a `responseCode`: 0 is success, anything else an error
(RESPONSE_CODES below; NCMEC says its list is not exhaustive). An unfinished report is
deleted by NCMEC 24 hours after it was opened or 1 hour after its last change, whichever is
later.

Answers are parsed with defusedxml: a document type declaration or an entity is refused
(never expanded) and reported as a protocol error, like any answer that is not the XML the
API defines.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Literal, NoReturn, TypeVar

import httpx

# defusedxml has no type stubs (unused-ignore: for when pyproject's mypy overrides list it)
from defusedxml import DefusedXmlException  # type: ignore[import-untyped,unused-ignore]
from defusedxml import ElementTree as SafeET

from safeguard._version import __version__
from safeguard.errors import InvalidRequest, SafeguardError
from safeguard.refer.config import NCMEC_PRODUCTION_URL, NCMEC_TEST_URL

T = TypeVar("T")

AgencyErrorKind = Literal[
    "auth", "validation", "finished", "not_found", "expired", "unavailable", "protocol"
]

#: the agency's response codes (NCMEC's documentation, Appendix D) and what each means here
RESPONSE_CODES: dict[int, tuple[AgencyErrorKind, str]] = {
    1000: ("unavailable", "server error"),
    1100: ("unavailable", "save failed"),
    1110: ("unavailable", "upload failed"),
    1111: ("unavailable", "file upload failed"),
    1210: ("not_found", "resource not found"),
    1300: ("unavailable", "update failed"),
    2000: ("auth", "authentication required"),
    3000: ("auth", "not authorized to perform this action"),
    3100: ("auth", "not authorized to make submissions"),
    3300: ("auth", "not authorized to make updates"),
    4000: ("validation", "invalid request"),
    4100: ("validation", "validation failed"),
    4110: ("validation", "malformed XML submittal"),
    4200: ("validation", "malformed file submittal"),
    5001: ("not_found", "report does not exist"),
    5002: ("not_found", "file does not exist"),
    # retracted by the reporter, or cancelled by NCMEC when it sat unfinished too long
    5101: ("expired", "report already retracted"),
    5102: ("finished", "report already finished"),
}
#: a code missing from the list above is read by its thousands: 1xxx the server, 2xxx/3xxx
#: the account, 4xxx the request, 5xxx the report's state
_KIND_BY_THOUSANDS: dict[int, AgencyErrorKind] = {
    1: "unavailable",
    2: "auth",
    3: "auth",
    4: "validation",
    5: "not_found",
}

#: the longest Retry-After the client waits for; a longer one ends the retries at once
MAX_RETRY_AFTER = 60.0
#: the largest answer read (the agency's answers are a few hundred bytes; the XSD ~200 KB)
MAX_ANSWER_BYTES = 4 * 1024 * 1024

_ANSWER_ROOTS = ("reportResponse", "reportDoneResponse")
#: transport errors raised before any byte of the request left: retrying cannot duplicate
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def kind_for(response_code: int) -> AgencyErrorKind:
    """The kind of error an agency response code (non-zero) stands for."""
    known = RESPONSE_CODES.get(response_code)
    if known is not None:
        return known[0]
    return _KIND_BY_THOUSANDS.get(response_code // 1000, "protocol")


class AgencyError(SafeguardError):
    """The CyberTipline refused a request, or could not be reached or understood.

    `kind` says which: "auth" (credentials or permissions), "validation" (the XML or the
    request), "finished" (the report is already finished), "not_found" (no such report or
    file: unknown, or deleted by NCMEC after sitting unfinished), "expired" (the report was
    retracted, by the platform or by NCMEC after it timed out), "unavailable" (the agency
    did not answer, or answered that it failed), "protocol" (an answer that is not the API's
    XML). `retryable` says whether sending the same request again later can help and cannot
    make a second report. `response_code` and `description` are the agency's own (None and
    "" when it gave none); `request_id` is its Request-ID header, to quote to NCMEC.
    """

    code = "agency_error"

    def __init__(
        self,
        message: str,
        *,
        kind: AgencyErrorKind,
        retryable: bool,
        response_code: int | None = None,
        description: str = "",
        http_status: int | None = None,
        request_id: str | None = None,
        endpoint: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.response_code = response_code
        self.description = description
        self.http_status = http_status
        self.request_id = request_id
        self.endpoint = endpoint
        self.retry_after = retry_after


@dataclass
class _Transient(Exception):
    """A failure retrying may cure: no answer, a 5xx or 429, or the agency's own failure."""

    detail: str
    sent: bool = True  # False: the request never left (no connection was made)
    http_status: int | None = None
    response_code: int | None = None
    description: str = ""
    request_id: str | None = None
    retry_after: float | None = None
    empty: bool = False  # the answer had no body


@dataclass
class _Call:
    """One API call: what it is for (the error messages say) and how to send it."""

    endpoint: str  # "submit", "upload", ...
    method: str
    what: str  # "the report", "file 'a.jpg'", ...
    report_id: str | None
    options: dict[str, Any]


class CyberTiplineClient:
    """Talks to one CyberTipline API: `base_url` is TEST_URL (NCMEC's test environment,
    where reports are never acted on, and the default SAFEGUARD_NCMEC_URL) or PRODUCTION_URL,
    with the username and password NCMEC issued for that environment.

    Retries: a call that failed where trying again can help (no connection, a timeout, an
    HTTP 5xx or 429, the agency's own "server error" codes) is sent again up to `retries`
    times, `backoff` seconds doubling between tries, or as long as the agency's Retry-After
    asks when that is at most MAX_RETRY_AFTER (a longer one stops the retries). That holds
    for status, upload, file_info, finish and retract: sending them twice at worst stores a
    file twice or answers "already finished", never makes a second report.

    `submit` is different: each submission that reaches the agency may open a report, and
    a lost answer (a read timeout, a dropped connection, a 500 after the work was done)
    cannot tell whether it did. So `submit` is retried only when the request certainly did
    not reach the agency's application: when no connection could be made, and when the
    answer is a 503 with no body (a gateway turning it away). Any other failure raises
    AgencyError(kind="unavailable", retryable=False) at once and the caller decides, e.g.
    by checking with NCMEC before submitting again: a retried submit must never make two
    reports.
    """

    TEST_URL = NCMEC_TEST_URL
    PRODUCTION_URL = NCMEC_PRODUCTION_URL

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 30,
        retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise InvalidRequest("retries and backoff must be >= 0 and timeout > 0")
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(
            auth=httpx.BasicAuth(username, password),
            timeout=timeout,
            transport=transport,
            headers={
                "User-Agent": f"safeguard/{__version__}",
                "Accept": "text/xml, application/xml",
            },
        )

    # the API

    def status(self) -> None:
        """Check that the API answers and takes the credentials; raise AgencyError if not."""
        self._answer(_Call("status", "GET", "the status check", None, {}), "reportResponse")

    def xsd(self) -> bytes:
        """The schema the API validates reports against now (to compare with ours)."""
        call = _Call("xsd", "GET", "the schema download", None, {})
        return self._with_retries(call, self._fetch_raw)

    def submit(self, report_xml: bytes) -> str:
        """Open a report from its `<report>` XML; return the report id the agency gave.
        Never sent twice when it may have arrived (see the class docstring)."""
        call = _Call(
            "submit",
            "POST",
            "the report",
            None,
            {"content": report_xml, "headers": {"Content-Type": "text/xml; charset=utf-8"}},
        )
        root = self._answer(call, "reportResponse")
        return _required_text(root, "reportId", call, self.base_url)

    def upload(self, report_id: str, name: str, data: bytes) -> tuple[str, str]:
        """Upload one file to an open report; return (file id, the MD5 the agency computed
        of what it received: compare it with the file's own)."""
        _check_id(report_id)
        call = _Call(
            "upload",
            "POST",
            f"file {name!r} of report {report_id}",
            report_id,
            {
                "data": {"id": report_id},
                "files": {"file": (name, data, "application/octet-stream")},
            },
        )
        root = self._answer(call, "reportResponse")
        file_id = _required_text(root, "fileId", call, self.base_url)
        return file_id, _required_text(root, "hash", call, self.base_url).lower()

    def file_info(self, details_xml: bytes) -> None:
        """Send the `<fileDetails>` XML of an uploaded file (it names the report and file)."""
        call = _Call(
            "fileinfo",
            "POST",
            "the file details",
            None,
            {"content": details_xml, "headers": {"Content-Type": "text/xml; charset=utf-8"}},
        )
        self._answer(call, "reportResponse")

    def finish(self, report_id: str) -> list[str]:
        """Finish a report (nothing can be added or retracted afterwards); return the ids of
        the files the agency holds for it. A finish retried after a lost answer may come
        back kind="finished": the first one then did finish the report."""
        _check_id(report_id)
        call = _Call(
            "finish", "POST", f"report {report_id}", report_id, {"data": {"id": report_id}}
        )
        root = self._answer(call, "reportDoneResponse")
        files = _child(root, "files")
        if files is None:
            raise _protocol(call, "the answer lists no <files>", self.base_url)
        return [(f.text or "").strip() for f in files if _local(f.tag) == "fileId"]

    def retract(self, report_id: str) -> None:
        """Cancel an unfinished report."""
        _check_id(report_id)
        call = _Call(
            "retract", "POST", f"report {report_id}", report_id, {"data": {"id": report_id}}
        )
        self._answer(call, "reportResponse")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CyberTiplineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # sending, retrying

    def _answer(self, call: _Call, root_tag: str) -> ET.Element:
        """Send the call (with retries) and return the success answer's root element."""
        root = self._with_retries(call, self._exchange)
        if _local(root.tag) != root_tag:
            raise _protocol(
                call, f"a <{_local(root.tag)}> where <{root_tag}> belongs", self.base_url
            )
        return root

    def _with_retries(self, call: _Call, once: Callable[[_Call], T]) -> T:
        attempt = 0
        while True:
            try:
                return once(call)
            except _Transient as t:
                attempt += 1
                delay = self._delay(attempt, t.retry_after)
                if not self._may_retry(call, t) or attempt > self.retries or delay is None:
                    raise self._unavailable(call, t, attempt) from None
                time.sleep(delay)

    def _may_retry(self, call: _Call, t: _Transient) -> bool:
        if call.endpoint != "submit":
            return True
        return not t.sent or (t.http_status == 503 and t.empty)

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before try `attempt + 1`; None when the agency asks for longer
        than MAX_RETRY_AFTER."""
        delay = self.backoff * 2 ** (attempt - 1)
        if retry_after is None:
            return delay
        if retry_after > MAX_RETRY_AFTER:
            return None
        return max(delay, retry_after)

    def _send(self, call: _Call) -> tuple[httpx.Response, bytes]:
        url = f"{self.base_url}/{call.endpoint}"
        try:
            with self._http.stream(call.method, url, **call.options) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise _protocol(
                            call, f"an answer larger than {MAX_ANSWER_BYTES} bytes", self.base_url
                        )
                return response, bytes(body)
        except _NOT_SENT as e:
            raise _Transient(
                f"no connection to {self.base_url} ({_describe(e)})", sent=False
            ) from e
        except httpx.TransportError as e:
            raise _Transient(f"no answer from {self.base_url} ({_describe(e)})") from e

    def _fetch_raw(self, call: _Call) -> bytes:
        response, body = self._send(call)
        if response.is_success:
            return body
        try:
            root = _parse(body)
        except (ET.ParseError, DefusedXmlException):
            root = None
        self._refusal(call, response, body, root)

    def _exchange(self, call: _Call) -> ET.Element:
        """One request: the success answer's root, or _Transient, or AgencyError."""
        response, body = self._send(call)
        try:
            root = _parse(body)
        except DefusedXmlException:
            raise _protocol(
                call, "an answer with a document type or entity declaration", self.base_url
            ) from None
        except ET.ParseError:
            root = None
        code = _response_code(root)
        if root is not None and code == 0 and response.is_success:
            return root
        self._refusal(call, response, body, root)

    def _refusal(
        self, call: _Call, response: httpx.Response, body: bytes, root: ET.Element | None
    ) -> NoReturn:
        """Raise what an unsuccessful answer means: _Transient or AgencyError."""
        status = response.status_code
        request_id = response.headers.get("Request-ID")
        code = _response_code(root)
        description = _text(root, "responseDescription") if root is not None else ""
        if code is not None and code != 0:
            kind = kind_for(code)
            if kind == "unavailable":
                raise _Transient(
                    f"the agency answered {code} {description or _code_meaning(code)}",
                    http_status=status,
                    response_code=code,
                    description=description,
                    request_id=request_id,
                    retry_after=_retry_after(response),
                )
            raise AgencyError(
                _message(kind, call, code, description, self.base_url, request_id),
                kind=kind,
                retryable=False,
                response_code=code,
                description=description,
                http_status=status,
                request_id=request_id,
                endpoint=call.endpoint,
            )
        if status in (401, 403):
            kind = "auth"
            raise AgencyError(
                _message(kind, call, None, f"HTTP {status}", self.base_url, request_id),
                kind=kind,
                retryable=False,
                http_status=status,
                request_id=request_id,
                endpoint=call.endpoint,
            )
        if status == 429 or status >= 500:
            raise _Transient(
                f"HTTP {status}",
                http_status=status,
                request_id=request_id,
                retry_after=_retry_after(response),
                empty=not body.strip(),
            )
        if root is None:
            what = "an empty answer" if not body.strip() else "an answer that is not XML"
        else:
            what = f"a <{_local(root.tag)}> without a valid responseCode"
        raise _protocol(call, f"{what} (HTTP {status})", self.base_url, status, request_id)

    def _unavailable(self, call: _Call, t: _Transient, attempts: int) -> AgencyError:
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        if call.endpoint == "submit" and t.sent and not (t.http_status == 503 and t.empty):
            retryable = False
            message = (
                f"CyberTipline did not confirm {call.what} ({t.detail}); it may have opened a "
                "report all the same, so it was not sent again: check with NCMEC (or retract "
                "the report it opened) before submitting again"
            )
        else:
            retryable = True
            asked = (
                f"; it asks to wait {t.retry_after:g} s"
                if t.retry_after is not None and t.retry_after > MAX_RETRY_AFTER
                else ""
            )
            message = (
                f"CyberTipline is unavailable for {call.what} ({t.detail}, {tries}{asked}): "
                f"nothing was lost, try again later (SAFEGUARD_NCMEC_URL is {self.base_url})"
            )
        if t.request_id:
            message += f" [Request-ID {t.request_id}]"
        return AgencyError(
            message,
            kind="unavailable",
            retryable=retryable,
            response_code=t.response_code,
            description=t.description,
            http_status=t.http_status,
            request_id=t.request_id,
            endpoint=call.endpoint,
            retry_after=t.retry_after,
        )


# reading answers


def _parse(body: bytes) -> ET.Element | None:
    """The answer's root element (None for an empty body). Raises ET.ParseError for text that
    is not XML, DefusedXmlException for a DTD or entity (never expanded)."""
    if not body.strip():
        return None
    root: ET.Element = SafeET.fromstring(body, forbid_dtd=True)
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(root: ET.Element, name: str) -> ET.Element | None:
    for child in root:
        if _local(child.tag) == name:
            return child
    return None


def _text(root: ET.Element, name: str) -> str:
    child = _child(root, name)
    return (child.text or "").strip() if child is not None else ""


def _response_code(root: ET.Element | None) -> int | None:
    if root is None or _local(root.tag) not in _ANSWER_ROOTS:
        return None
    try:
        return int(_text(root, "responseCode"))
    except ValueError:
        return None


def _required_text(root: ET.Element, name: str, call: _Call, base_url: str) -> str:
    value = _text(root, name)
    if not value:
        raise _protocol(call, f"a success answer without <{name}>", base_url)
    return value


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _check_id(report_id: str) -> None:
    if not str(report_id).strip():
        raise InvalidRequest("a CyberTipline report id is needed (the one submit returned)")


def _describe(e: Exception) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _code_meaning(code: int) -> str:
    known = RESPONSE_CODES.get(code)
    return known[1] if known else "an error code NCMEC does not document"


# what errors say


def _protocol(
    call: _Call,
    what: str,
    base_url: str,
    status: int | None = None,
    request_id: str | None = None,
) -> AgencyError:
    message = (
        f"CyberTipline gave {what} to {call.what}, not the API's XML answer: check that "
        f"SAFEGUARD_NCMEC_URL ({base_url}) is the CyberTipline Reporting API"
    )
    if call.endpoint == "submit":
        message += "; the report may have been opened, so check with NCMEC before submitting again"
    if request_id:
        message += f" [Request-ID {request_id}]"
    return AgencyError(
        message,
        kind="protocol",
        retryable=False,
        http_status=status,
        request_id=request_id,
        endpoint=call.endpoint,
    )


def _report(call: _Call) -> str:
    return f"report {call.report_id}" if call.report_id else "the report"


def _message(
    kind: AgencyErrorKind,
    call: _Call,
    code: int | None,
    description: str,
    base_url: str,
    request_id: str | None,
) -> str:
    said = f"{code} {description or _code_meaning(code)}" if code is not None else description
    if kind == "auth" and code in (None, 2000):
        text = (
            f"CyberTipline refused the credentials ({said}): check SAFEGUARD_NCMEC_USERNAME / "
            f"SAFEGUARD_NCMEC_PASSWORD, and that NCMEC issued them for {base_url}"
        )
    elif kind == "auth":
        text = (
            f"CyberTipline does not allow this account to send {call.what} ({said}): ask "
            "NCMEC to enable reporting for the credentials in SAFEGUARD_NCMEC_USERNAME"
        )
    elif kind == "validation":
        text = (
            f"CyberTipline rejected {call.what} as invalid ({said}): correct the data named "
            "there; if our bundled schema passed it, compare it with the agency's current one "
            "(GET /xsd, docs/referrals.md)"
        )
    elif kind == "finished":
        text = (
            f"CyberTipline {_report(call)} is already finished ({said}): it was sent; "
            "nothing can be added to it or retracted from it"
        )
    elif kind == "expired":
        text = (
            f"CyberTipline {_report(call)} was retracted ({said}), by this platform or by "
            "NCMEC after it sat unfinished: submit the report again as a new one"
        )
    elif kind == "not_found":
        text = (
            f"CyberTipline does not know {call.what} ({said}): NCMEC deletes a report left "
            "unfinished for an hour after its last change (24 hours after opening at the "
            "least); submit the report again as a new one"
        )
    else:
        text = f"CyberTipline refused {call.what} ({said})"
    if request_id:
        text += f" [Request-ID {request_id}]"
    return text
