"""The CyberTipline client against the local stand-in over real HTTP: a whole report, the
agency's refusals as AgencyError kinds, retries where they help and none where a second
submission could make a second report, and answers that are not the API's XML."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from safeguard.refer.client import MAX_RETRY_AFTER, AgencyError, CyberTiplineClient, kind_for
from tests.conftest import REPO
from tests.refer.standin import XSD, StandIn

USER, PASSWORD = "esp-client-test", "a-made-up-password"

REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<report>
  <incidentSummary>
    <incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>
    <incidentDateTime>2026-11-30T09:15:00Z</incidentDateTime>
  </incidentSummary>
  <reporter>
    <reportingPerson>
      <firstName>Alex</firstName>
      <lastName>Morgan</lastName>
      <email>safety@example.org</email>
    </reportingPerson>
  </reporter>
</report>
"""
#: the same report without its required incidentDateTime
INVALID_REPORT = REPORT.replace(
    b"    <incidentDateTime>2026-11-30T09:15:00Z</incidentDateTime>\n", b""
)


def details(report_id: str, file_id: str, name: str) -> bytes:
    return (
        f"<fileDetails><reportId>{report_id}</reportId><fileId>{file_id}</fileId>"
        f"<originalFileName>{name}</originalFileName><fileViewedByEsp>true</fileViewedByEsp>"
        "</fileDetails>"
    ).encode()


@pytest.fixture
def agency() -> Iterator[StandIn]:
    with StandIn(USER, PASSWORD) as server:
        yield server


@pytest.fixture
def client(agency: StandIn) -> Iterator[CyberTiplineClient]:
    with CyberTiplineClient(agency.url, USER, PASSWORD, timeout=5, backoff=0.01) as c:
        yield c


def test_a_whole_report_reaches_the_agency_as_sent(
    agency: StandIn, client: CyberTiplineClient
) -> None:
    client.status()
    report_id = client.submit(REPORT)
    files = {"first.bin": b"benign bytes one", "second.bin": b"benign bytes two" * 100}
    uploaded = {name: client.upload(report_id, name, data) for name, data in files.items()}
    for name, (file_id, md5) in uploaded.items():
        assert md5 == hashlib.md5(files[name]).hexdigest()
        client.file_info(details(report_id, file_id, name))
    finished = client.finish(report_id)

    assert list(agency.reports) == [report_id]
    stored = agency.reports[report_id]
    assert stored["finished"] and not stored["retracted"]
    assert "incidentDateTime" in stored["xml"]
    assert sorted(finished) == sorted(stored["files"]) == sorted(f for f, _ in uploaded.values())
    for name, (file_id, _) in uploaded.items():
        held = stored["files"][file_id]
        assert (held["name"], held["size"]) == (name, len(files[name]))
        assert f"<originalFileName>{name}</originalFileName>" in held["details"]
    assert [e for e, _ in agency.calls] == [
        "status",
        "submit",
        "upload",
        "upload",
        "fileinfo",
        "fileinfo",
        "finish",
    ]
    assert all(r == report_id for e, r in agency.calls if e not in ("status", "submit"))


def test_the_schema_download(client: CyberTiplineClient) -> None:
    assert client.xsd() == XSD.read_bytes()


def test_a_failed_upload_is_retried_and_stored_once(
    agency: StandIn, client: CyberTiplineClient
) -> None:
    report_id = client.submit(REPORT)
    agency.fail("upload", 500)
    file_id, _ = client.upload(report_id, "a.bin", b"benign")
    assert agency.calls_to("upload") == 2
    assert list(agency.reports[report_id]["files"]) == [file_id]


def test_the_agencys_own_server_error_is_retried(
    agency: StandIn, client: CyberTiplineClient
) -> None:
    report_id = client.submit(REPORT)
    agency.reject("upload", 1000, "Server error", times=2)
    client.upload(report_id, "a.bin", b"benign")
    assert agency.calls_to("upload") == 3
    assert len(agency.reports[report_id]["files"]) == 1


def test_retries_end_after_the_limit_and_can_be_tried_later(agency: StandIn) -> None:
    with CyberTiplineClient(agency.url, USER, PASSWORD, retries=2, backoff=0.01) as client:
        report_id = client.submit(REPORT)
        agency.fail("finish", 502, times=5)
        with pytest.raises(AgencyError) as raised:
            client.finish(report_id)
    e = raised.value
    assert (e.kind, e.retryable, e.http_status) == ("unavailable", True, 502)
    assert "3 attempts" in e.message and "try again later" in e.message
    assert agency.calls_to("finish") == 3
    assert not agency.reports[report_id]["finished"]


def test_an_invalid_report_is_a_validation_error_with_the_agencys_words(
    agency: StandIn, client: CyberTiplineClient
) -> None:
    with pytest.raises(AgencyError) as raised:
        client.submit(INVALID_REPORT)
    e = raised.value
    assert (e.kind, e.retryable, e.response_code, e.http_status) == ("validation", False, 4100, 400)
    assert "incidentDateTime" in e.description and e.description in e.message
    assert e.request_id and e.request_id in e.message
    assert e.code == "agency_error"
    assert agency.reports == {} and agency.calls_to("submit") == 1


def test_malformed_xml_is_a_validation_error(client: CyberTiplineClient) -> None:
    with pytest.raises(AgencyError) as raised:
        client.submit(b"<report><incidentSummary>")
    assert (raised.value.kind, raised.value.response_code) == ("validation", 4110)


@pytest.mark.parametrize("call", ["status", "submit"])
def test_a_wrong_password_is_an_auth_error(agency: StandIn, call: str) -> None:
    with (
        CyberTiplineClient(agency.url, USER, "wrong", backoff=0.01) as client,
        pytest.raises(AgencyError) as raised,
    ):
        client.status() if call == "status" else client.submit(REPORT)
    e = raised.value
    assert (e.kind, e.retryable, e.http_status) == ("auth", False, 401)
    assert "SAFEGUARD_NCMEC_USERNAME" in e.message and "SAFEGUARD_NCMEC_PASSWORD" in e.message
    assert agency.reports == {} and len(agency.calls) == 1


def test_an_account_without_permission_is_an_auth_error(
    agency: StandIn, client: CyberTiplineClient
) -> None:
    agency.reject("submit", 3100, "User does not have authorization to make submissions")
    with pytest.raises(AgencyError) as raised:
        client.submit(REPORT)
    assert (raised.value.kind, raised.value.response_code) == ("auth", 3100)
    assert "ask NCMEC" in raised.value.message


def test_finishing_twice_says_finished(agency: StandIn, client: CyberTiplineClient) -> None:
    report_id = client.submit(REPORT)
    assert client.finish(report_id) == []
    with pytest.raises(AgencyError) as raised:
        client.finish(report_id)
    e = raised.value
    assert (e.kind, e.response_code, e.retryable) == ("finished", 5102, False)
    assert report_id in e.message
    assert agency.calls_to("finish") == 2


def test_retracted_and_forgotten_reports(agency: StandIn, client: CyberTiplineClient) -> None:
    retracted = client.submit(REPORT)
    client.retract(retracted)
    assert agency.reports[retracted]["retracted"]
    with pytest.raises(AgencyError) as raised:
        client.upload(retracted, "a.bin", b"benign")
    assert (raised.value.kind, raised.value.response_code) == ("expired", 5101)

    forgotten = client.submit(REPORT)
    agency.expire(forgotten)
    with pytest.raises(AgencyError) as raised:
        client.finish(forgotten)
    assert (raised.value.kind, raised.value.response_code) == ("not_found", 5001)
    assert "submit the report again" in raised.value.message

    live = client.submit(REPORT)
    with pytest.raises(AgencyError) as raised:
        client.file_info(details(live, "0123456789abcdef", "a.bin"))
    assert (raised.value.kind, raised.value.response_code) == ("not_found", 5002)


@pytest.mark.parametrize("after", [False, True], ids=["before-work", "after-work"])
def test_a_submit_answered_500_is_not_sent_again(
    agency: StandIn, client: CyberTiplineClient, after: bool
) -> None:
    agency.fail("submit", 500, after=after)
    with pytest.raises(AgencyError) as raised:
        client.submit(REPORT)
    e = raised.value
    assert (e.kind, e.retryable, e.http_status) == ("unavailable", False, 500)
    assert "not sent again" in e.message
    assert agency.calls_to("submit") == 1
    # the reason: when the work was done before the answer failed, the agency holds a report
    assert len(agency.reports) == (1 if after else 0)


def test_a_submit_whose_answer_is_late_is_not_sent_again(agency: StandIn) -> None:
    agency.stall("submit", 2.0)
    with (
        CyberTiplineClient(agency.url, USER, PASSWORD, timeout=0.5, backoff=0.01) as client,
        pytest.raises(AgencyError) as raised,
    ):
        client.submit(REPORT)
    assert (raised.value.kind, raised.value.retryable) == ("unavailable", False)
    assert "ReadTimeout" in raised.value.message
    assert agency.calls_to("submit") == 1 and len(agency.reports) == 1


def test_a_submit_turned_away_by_an_empty_503_is_retried(
    agency: StandIn, client: CyberTiplineClient
) -> None:
    agency.fail("submit", 503)
    report_id = client.submit(REPORT)
    assert agency.calls_to("submit") == 2
    assert list(agency.reports) == [report_id]


def test_a_submit_with_no_connection_is_retried_then_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/ispws"
    with (
        CyberTiplineClient(url, USER, PASSWORD, retries=2, backoff=0.01) as client,
        pytest.raises(AgencyError) as raised,
    ):
        client.submit(REPORT)
    e = raised.value
    assert (e.kind, e.retryable) == ("unavailable", True)
    assert "3 attempts" in e.message and "ConnectError" in e.message


def test_retry_after_is_honoured_up_to_the_cap(agency: StandIn, client: CyberTiplineClient) -> None:
    report_id = client.submit(REPORT)
    agency.fail("retract", 429, retry_after=0)
    client.retract(report_id)
    assert agency.calls_to("retract") == 2 and agency.reports[report_id]["retracted"]

    other = client.submit(REPORT)
    agency.fail("finish", 429, retry_after=MAX_RETRY_AFTER * 60)
    with pytest.raises(AgencyError) as raised:
        client.finish(other)
    e = raised.value
    assert (e.kind, e.retryable, e.retry_after) == ("unavailable", True, MAX_RETRY_AFTER * 60)
    assert agency.calls_to("finish") == 1  # asked to wait too long: no waiting, no retry


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Service page</body></html>",
        b"not xml at all",
        b"",
        b"<reportResponse><responseCode>zero</responseCode></reportResponse>",
    ],
    ids=["html", "text", "empty", "bad-code"],
)
def test_an_answer_that_is_not_the_apis_xml_is_a_protocol_error(
    agency: StandIn, client: CyberTiplineClient, body: bytes
) -> None:
    agency.fail("status", 200, body=body)
    with pytest.raises(AgencyError) as raised:
        client.status()
    assert (raised.value.kind, raised.value.retryable) == ("protocol", False)
    assert "SAFEGUARD_NCMEC_URL" in raised.value.message
    assert agency.calls_to("status") == 1


def test_a_success_answer_missing_its_ids_is_a_protocol_error(
    agency: StandIn, client: CyberTiplineClient
) -> None:
    agency.fail(
        "submit",
        200,
        body=b"<reportResponse><responseCode>0</responseCode>"
        b"<responseDescription>Success</responseDescription></reportResponse>",
    )
    with pytest.raises(AgencyError) as raised:
        client.submit(REPORT)
    assert raised.value.kind == "protocol" and "reportId" in raised.value.message
    assert "check with NCMEC before submitting again" in raised.value.message


def test_entities_in_an_answer_are_refused_not_expanded(
    agency: StandIn, client: CyberTiplineClient
) -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY big "grown">]>'
        b"<reportResponse><responseCode>0</responseCode>"
        b"<responseDescription>&big;</responseDescription><reportId>7</reportId>"
        b"</reportResponse>"
    )
    agency.fail("submit", 200, body=hostile)
    with pytest.raises(AgencyError) as raised:
        client.submit(REPORT)
    assert raised.value.kind == "protocol" and "grown" not in raised.value.message


def test_a_not_found_page_is_a_protocol_error(agency: StandIn) -> None:
    wrong = agency.url.removesuffix("/ispws") + "/elsewhere"
    with (
        CyberTiplineClient(wrong, USER, PASSWORD, backoff=0.01) as client,
        pytest.raises(AgencyError) as raised,
    ):
        client.status()
    assert (raised.value.kind, raised.value.http_status) == ("protocol", 404)


def test_codes_outside_the_documented_list_are_read_by_their_thousands() -> None:
    assert [kind_for(c) for c in (1999, 2500, 3999, 4321, 5999, 9000)] == [
        "unavailable",
        "auth",
        "auth",
        "validation",
        "not_found",
        "protocol",
    ]


def test_the_stand_in_as_a_separate_process_keeps_its_state(tmp_path: Path) -> None:
    state = tmp_path / "agency.json"
    args = [sys.executable, "-m", "tests.refer.standin", "--port", "0", "--state", str(state)]
    args += ["--user", USER, "--password", PASSWORD]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.endswith("/ispws"), url
        root = url.removesuffix("/ispws")
        with CyberTiplineClient(url, USER, PASSWORD, backoff=0.01) as client:
            report_id = client.submit(REPORT)
            httpx.post(f"{root}/_standin/fail", json={"endpoint": "upload", "status": 500})
            file_id, _ = client.upload(report_id, "a.bin", b"benign")
        saved = json.loads(state.read_text())
        assert list(saved["reports"]) == [report_id]
        assert list(saved["reports"][report_id]["files"]) == [file_id]
        assert [c[0] for c in saved["calls"]] == ["submit", "upload", "upload"]
        assert httpx.get(f"{root}/_standin/state").json() == saved
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # started again on the same file, it remembers the report
    assert list(StandIn(state_file=state).reports) == [report_id]
