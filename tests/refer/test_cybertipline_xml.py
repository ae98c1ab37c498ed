"""CyberTipline XML (refer/cybertipline.py): reports and file details built from synthetic
ReportData validate against NCMEC's bundled XSD, both through `validate()` and through
xmlschema directly, and carry each value where the schema puts it. `missing()` names what
an incomplete report lacks; `validate()` reports broken documents without raising.

All data is made up: account ids, hex-digit hashes, documentation-range IP addresses."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import xmlschema

from safeguard.errors import InvalidRequest
from safeguard.refer import cybertipline as ct
from safeguard.refer.model import (
    CHILD_PORNOGRAPHY,
    FILE_ANNOTATIONS,
    INDUSTRY_CLASSIFICATIONS,
    ONLINE_ENTICEMENT,
    REPORT_ANNOTATIONS,
    DeviceId,
    IpCapture,
    ReportData,
    ReportedAccount,
    Reporter,
    ReportFile,
    Victim,
)

XSD = Path(__file__).resolve().parents[2] / "src/safeguard/refer/schemas/cyber_tipline.xsd"

MD5_A = "0123456789abcdef0123456789abcdef"
SHA256_A = "ab" * 32
PDQ_A = "f0" * 32
MD5_B = "fedcba9876543210fedcba9876543210"
SHA256_B = "cd" * 32
PDQ_B = "0f" * 32

WHEN = datetime(2025, 3, 4, 10, 30, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def xsd() -> Iterator[xmlschema.XMLSchema]:
    """The schema loaded on its own, not through the module under test."""
    yield xmlschema.XMLSchema(str(XSD))


def _reporter(**changes: str) -> Reporter:
    base = Reporter(
        org_name="Example Platform",
        contact_first_name="Sam",
        contact_last_name="Lee",
        contact_email="trust@example.org",
        contact_phone="+1 555 0100",
        url="https://platform.example",
    )
    return replace(base, **changes)


def _account(**changes: object) -> ReportedAccount:
    base = ReportedAccount(
        account_id="acct-90210",
        screen_name="user_90210",
        display_name="Display Name",
        profile_url="https://platform.example/u/90210",
        emails=("someone@example.net",),
        ip_captures=(IpCapture(ip="192.0.2.10", at=WHEN, event="Upload", port=443),),
        device_ids=(DeviceId(id_type="advertising id", value="ad-0001"),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _data(**changes: object) -> ReportData:
    base = ReportData(
        case_id=1,
        incident_type=CHILD_PORNOGRAPHY,
        incident_at=WHEN,
        reporter=_reporter(),
        account=_account(),
        web_page="https://platform.example/post/1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _file_a(**changes: object) -> ReportFile:
    base = ReportFile(
        name="upload_0001.jpg",
        hashes={"md5": MD5_A, "sha256": SHA256_A, "pdq": PDQ_A},
        evidence_id=7,
        location="https://platform.example/media/1",
        uploaded_at=WHEN - timedelta(hours=1),
        ip_capture=IpCapture(ip="198.51.100.7", at=WHEN, event="Upload", port=50123),
        detected_by="hash match in bank test-bank (pdq, distance 4)",
        industry_classification="A1",
        annotations=("viral", "potential_meme"),
        viewed_by_platform=True,
        publicly_available=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _file_b() -> ReportFile:
    return ReportFile(
        name="upload_0002.png",
        hashes={"md5": MD5_B, "sha256": SHA256_B, "pdq": PDQ_B},
        evidence_id=None,
        detected_by="hash match in bank test-bank (md5)",
    )


def _valid(xml: bytes, xsd: xmlschema.XMLSchema) -> ET.Element:
    """Check `xml` both ways and return its root for further checks."""
    assert xml.startswith(b"<?xml")
    assert ct.validate(xml) == []
    assert xsd.is_valid(io.BytesIO(xml))
    return ET.fromstring(xml)


def _text(root: ET.Element, path: str) -> str | None:
    found = root.find(path)
    return None if found is None else found.text


# -- the report --------------------------------------------------------------------------


def test_media_case_validates_and_carries_each_value(xsd: xmlschema.XMLSchema) -> None:
    data = _data(
        files=(_file_a(),),
        annotations=("sextortion",),
        account=_account(disabled_at=WHEN, disabled_permanently=True, user_notified=True),
    )
    root = _valid(ct.report_xml(data), xsd)

    assert root.tag == "report"
    assert _text(root, "incidentSummary/incidentType") == CHILD_PORNOGRAPHY
    assert _text(root, "incidentSummary/incidentDateTime") == "2025-03-04T10:30:00+00:00"
    assert _text(root, "incidentSummary/reportAnnotations/sextortion") == "true"
    assert _text(root, "incidentSummary/platform") == "Example Platform"
    urls = [u.text for u in root.findall("internetDetails/webPageIncident/url")]
    assert urls == ["https://platform.example/post/1", "https://platform.example/media/1"]

    person = root.find("reporter/reportingPerson")
    assert person is not None
    assert [c.tag for c in person] == ["firstName", "lastName", "phone", "email"]
    assert _text(person, "email") == "trust@example.org"

    user = root.find("personOrUserReported")
    assert user is not None
    assert _text(user, "espIdentifier") == "acct-90210"
    assert _text(user, "screenName") == "user_90210"
    assert _text(user, "displayName") == "Display Name"
    assert _text(user, "profileUrl") == "https://platform.example/u/90210"
    assert _text(user, "personOrUserReportedPerson/email") == "someone@example.net"
    assert _text(user, "ipCaptureEvent/ipAddress") == "192.0.2.10"
    assert _text(user, "ipCaptureEvent/eventName") == "Upload"
    assert _text(user, "ipCaptureEvent/port") == "443"
    assert _text(user, "deviceId/idValue") == "ad-0001"
    disabled = user.find("accountPermanentlyDisabled")
    assert disabled is not None and disabled.text == "true"
    assert disabled.get("userNotified") == "true"
    assert disabled.get("disabledDate") == "2025-03-04T10:30:00+00:00"
    assert user.find("accountTemporarilyDisabled") is None

    # the uploaded file's hashes travel in its fileDetails, not in the report text
    assert MD5_A not in ct.report_xml(data).decode()
    assert root.find("victim") is None


def test_temporary_disable_with_unknown_notification(xsd: xmlschema.XMLSchema) -> None:
    data = _data(
        files=(_file_a(),),
        account=_account(disabled_at=WHEN, disabled_permanently=False, user_notified=None),
    )
    root = _valid(ct.report_xml(data), xsd)
    disabled = root.find("personOrUserReported/accountTemporarilyDisabled")
    assert disabled is not None
    assert "userNotified" not in disabled.attrib
    assert root.find("personOrUserReported/accountPermanentlyDisabled") is None


def test_hashes_of_a_file_not_uploaded_reach_additional_info(xsd: xmlschema.XMLSchema) -> None:
    data = _data(files=(_file_a(), _file_b()), additional_info="Found by the hash matcher.")
    root = _valid(ct.report_xml(data), xsd)
    info = _text(root, "additionalInfo") or ""
    assert info.startswith("Found by the hash matcher.")
    assert "upload_0002.png" in info
    for value in (MD5_B, SHA256_B, PDQ_B):
        assert value in info
    # the uploaded file is not described there: NCMEC receives it with its own details
    assert "upload_0001.jpg" not in info
    assert MD5_A not in info


def test_pathways_only_case_with_a_victim(xsd: xmlschema.XMLSchema) -> None:
    data = _data(
        incident_type=ONLINE_ENTICEMENT,
        files=(),
        victims=(Victim(account_id="acct-555", screen_name="young_user", age_band="13-15"),),
        annotations=("minor_to_minor_interaction", "csam_solicitation"),
        additional_info="Conversation pattern flagged by the pathways model.",
    )
    assert ct.missing(data) == []
    root = _valid(ct.report_xml(data), xsd)
    assert _text(root, "incidentSummary/incidentType") == ONLINE_ENTICEMENT
    tags = [c.tag for c in root.findall("incidentSummary/reportAnnotations/*")]
    assert tags == ["csamSolicitation", "minorToMinorInteraction"]
    victims = root.findall("victim")
    assert len(victims) == 1
    assert victims[0].find("victimPerson") is not None
    assert _text(victims[0], "espIdentifier") == "acct-555"
    assert _text(victims[0], "screenName") == "young_user"
    assert "13-15" in (_text(victims[0], "additionalInfo") or "")


def test_follow_up_names_the_prior_report(xsd: xmlschema.XMLSchema) -> None:
    data = _data(files=(_file_a(),), prior_reports=("1234567",))
    root = _valid(ct.report_xml(data), xsd)
    assert [e.text for e in root.findall("personOrUserReported/priorCTReports")] == ["1234567"]


def test_a_prior_report_id_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="'CT-12'"):
        ct.report_xml(_data(files=(_file_a(),), prior_reports=("CT-12",)))


def test_connected_accounts_are_associated_accounts(xsd: xmlschema.XMLSchema) -> None:
    data = _data(files=(_file_a(),), account=_account(connected_accounts=("acct-1", "acct-2")))
    root = _valid(ct.report_xml(data), xsd)
    linked = root.findall("personOrUserReported/associatedAccount")
    assert [a.get("type") for a in linked] == ["Linked", "Linked"]
    assert [_text(a, "espIdentifier") for a in linked] == ["acct-1", "acct-2"]


def test_minimal_account_and_optional_parts_left_out(xsd: xmlschema.XMLSchema) -> None:
    data = _data(
        reporter=_reporter(url="", contact_phone=""),
        account=ReportedAccount(account_id="acct-1"),
        additional_info="Reported by a moderator.",
    )
    root = _valid(ct.report_xml(data), xsd)
    user = root.find("personOrUserReported")
    assert user is not None
    assert [c.tag for c in user] == ["espIdentifier"]
    assert root.find("reporter/legalURL") is None
    assert root.find("reporter/reportingPerson/phone") is None
    assert root.find("incidentSummary/reportAnnotations") is None


def test_times_keep_their_offset_and_naive_times_are_utc(xsd: xmlschema.XMLSchema) -> None:
    paris = timezone(timedelta(hours=1))
    naive = datetime(2025, 1, 2, 3, 4, 5)
    capture = IpCapture(ip="192.0.2.1", at=naive, event="login")
    data = _data(
        files=(_file_a(),),
        incident_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=paris),
        account=_account(ip_captures=(capture,)),
    )
    root = _valid(ct.report_xml(data), xsd)
    assert _text(root, "incidentSummary/incidentDateTime") == "2025-01-02T03:04:05+01:00"
    assert _text(root, "personOrUserReported/ipCaptureEvent/dateTime") == (
        "2025-01-02T03:04:05+00:00"
    )
    assert _text(root, "personOrUserReported/ipCaptureEvent/eventName") == "Login"
    assert root.find("personOrUserReported/ipCaptureEvent/port") is None


def test_unknown_values_are_refused_with_a_clear_message() -> None:
    with pytest.raises(InvalidRequest, match="unknown report annotation.*'grooming'") as info:
        ct.report_xml(_data(annotations=("sextortion", "grooming")))
    assert "sextortion" in info.value.message  # the message lists the names that are known
    with pytest.raises(InvalidRequest, match="not a CyberTipline incident type"):
        ct.report_xml(_data(incident_type="Something Else"))
    bad_event = IpCapture(ip="192.0.2.1", at=WHEN, event="Streaming")
    with pytest.raises(InvalidRequest, match="'Streaming'"):
        ct.report_xml(_data(account=_account(ip_captures=(bad_event,))))
    with pytest.raises(InvalidRequest, match="unknown file annotation.*'blurry'"):
        ct.file_details_xml("1234567", "file-1", _file_a(annotations=("blurry",)))
    with pytest.raises(InvalidRequest, match="'C3'"):
        ct.file_details_xml("1234567", "file-1", _file_a(industry_classification="C3"))
    with pytest.raises(InvalidRequest, match="report id"):
        ct.file_details_xml("not-a-number", "file-1", _file_a())


def test_text_with_control_characters_still_makes_valid_xml(xsd: xmlschema.XMLSchema) -> None:
    data = _data(files=(_file_a(),), additional_info="line one\x00\x07 and <two> & three")
    root = _valid(ct.report_xml(data), xsd)
    assert _text(root, "additionalInfo") == "line one and <two> & three"


# -- file details ------------------------------------------------------------------------


def test_file_details_validate_and_carry_each_value(xsd: xmlschema.XMLSchema) -> None:
    root = _valid(ct.file_details_xml("1234567", "f0e1d2c3", _file_a()), xsd)
    assert root.tag == "fileDetails"
    assert _text(root, "reportId") == "1234567"
    assert _text(root, "fileId") == "f0e1d2c3"
    assert _text(root, "originalFileName") == "upload_0001.jpg"
    assert _text(root, "uploadedToEspTimestamp") == "2025-03-04T09:30:00+00:00"
    assert _text(root, "locationOfFile") == "https://platform.example/media/1"
    assert _text(root, "fileViewedByEsp") == "true"
    assert _text(root, "publiclyAvailable") == "false"
    assert [c.tag for c in root.findall("fileAnnotations/*")] == ["potentialMeme", "viral"]
    assert _text(root, "industryClassification") == "A1"
    hashes = {h.get("hashType"): h.text for h in root.findall("originalFileHash")}
    assert hashes == {"MD5": MD5_A, "SHA256": SHA256_A}
    details = root.find("details")
    assert details is not None and details.get("type") == "HASH"
    pairs = {_text(p, "name"): _text(p, "value") for p in details.findall("nameValuePair")}
    assert pairs == {"PDQ": PDQ_A}
    assert _text(root, "ipCaptureEvent/ipAddress") == "198.51.100.7"
    assert _text(root, "ipCaptureEvent/port") == "50123"
    assert "test-bank" in (_text(root, "additionalInfo") or "")


def test_file_details_of_a_bare_file(xsd: xmlschema.XMLSchema) -> None:
    bare = ReportFile(name="upload_0003.bin", hashes={"sha256": SHA256_B})
    root = _valid(ct.file_details_xml("42", "file-3", bare), xsd)
    assert [c.tag for c in root] == [
        "reportId",
        "fileId",
        "originalFileName",
        "fileViewedByEsp",
        "originalFileHash",
    ]
    assert _text(root, "fileViewedByEsp") == "false"


# -- validate() ------------------------------------------------------------------------


def test_validate_reports_elements_out_of_order(xsd: xmlschema.XMLSchema) -> None:
    root = ET.fromstring(ct.report_xml(_data(files=(_file_a(),))))
    summary = root.find("incidentSummary")
    assert summary is not None
    root.remove(summary)
    root.append(summary)  # incidentSummary must come first
    broken = ET.tostring(root, encoding="utf-8", xml_declaration=True)

    problems = ct.validate(broken)
    assert problems
    assert any(p.startswith("/report") and "incidentSummary" in p for p in problems)
    assert not xsd.is_valid(io.BytesIO(broken))


def test_validate_reports_a_bad_value_with_its_path() -> None:
    xml = ct.report_xml(_data(files=(_file_a(),))).replace(b"<port>443</port>", b"<port>x</port>")
    problems = ct.validate(xml)
    assert len(problems) == 1
    assert problems[0].startswith("/report/personOrUserReported/ipCaptureEvent/port:")


@pytest.mark.parametrize(
    "document",
    [
        b"this is not XML at all",
        b"",
        b"<report><incidentSummary></report>",
        b"\xff\xfe\x00garbage",
    ],
)
def test_validate_never_raises_on_malformed_input(document: bytes) -> None:
    problems = ct.validate(document)
    assert len(problems) == 1
    assert problems[0].startswith("not well-formed XML")


def test_validate_refuses_entities_without_expanding_them() -> None:
    document = (
        b'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY a "aaaaaaaa">]>'
        b"<report><additionalInfo>&a;&a;</additionalInfo></report>"
    )
    problems = ct.validate(document)
    assert len(problems) == 1
    assert "not allowed" in problems[0]


def test_validate_wants_a_cybertipline_root() -> None:
    (problem,) = ct.validate(b'<details type="HASH"><nameValuePair/></details>')
    assert "not a CyberTipline document" in problem


# -- missing() -------------------------------------------------------------------------


def test_missing_is_empty_for_a_complete_report() -> None:
    assert ct.missing(_data(files=(_file_a(),))) == []
    assert ct.missing(_data(files=(), additional_info="What was seen, in words.")) == []


def test_missing_lists_exactly_what_was_left_out() -> None:
    data = _data(
        reporter=_reporter(contact_email="", contact_last_name=" "),
        account=ReportedAccount(
            account_id="",
            ip_captures=(IpCapture(ip="", at=WHEN),),
            device_ids=(DeviceId(id_type="IMEI", value=""),),
        ),
        web_page=None,
        files=(),
        additional_info="",
    )
    assert ct.missing(data) == [
        "reporter.contact_last_name",
        "reporter.contact_email",
        "account.account_id",
        "account.ip_captures[0].ip",
        "account.device_ids[0].value",
        "web_page",
        "files or additional_info",
    ]


def test_missing_incident_type_and_hashes_of_a_file_not_kept() -> None:
    no_hashes = ReportFile(name="upload_0004.jpg", hashes={}, location="https://x.example/4")
    data = _data(incident_type="", web_page=None, files=(no_hashes,))
    assert ct.missing(data) == ["incident_type", "files[0].hashes"]


def test_a_file_location_is_a_place_for_the_incident() -> None:
    assert ct.missing(_data(web_page=None, files=(_file_a(),))) == []


def test_enticement_needs_no_file() -> None:
    data = _data(incident_type=ONLINE_ENTICEMENT, files=(), additional_info="")
    assert ct.missing(data) == []


# -- the mappings agree with the schema and the model -------------------------------------


def _children(xsd: xmlschema.XMLSchema, type_name: str) -> list[str]:
    """The element names of a complex type of the schema, in its order."""
    complex_type: Any = xsd.types[type_name]
    return [str(e.name) for e in complex_type.content.iter_elements()]


def _enumeration(xsd: xmlschema.XMLSchema, type_name: str) -> list[str]:
    """The allowed values of a simple type of the schema."""
    simple_type: Any = xsd.types[type_name]
    return list(simple_type.enumeration)


def test_mappings_match_the_schema_and_the_model(xsd: xmlschema.XMLSchema) -> None:
    assert ct.SCHEMA_PATH.resolve() == XSD
    assert list(ct.INCIDENT_TYPES) == _enumeration(xsd, "incidentType")
    assert tuple(ct.REPORT_ANNOTATION_TAGS) == REPORT_ANNOTATIONS
    assert list(ct.REPORT_ANNOTATION_TAGS.values()) == _children(xsd, "reportAnnotations")
    assert tuple(ct.FILE_ANNOTATION_TAGS) == FILE_ANNOTATIONS
    assert list(ct.FILE_ANNOTATION_TAGS.values()) == _children(xsd, "fileAnnotations")
    assert list(ct.IP_EVENTS) == _enumeration(xsd, "ipCaptureType")
    assert ct.INDUSTRY_CLASSIFICATIONS == INDUSTRY_CLASSIFICATIONS
    assert list(ct.INDUSTRY_CLASSIFICATIONS) == _enumeration(xsd, "fileClassification")


def test_every_annotation_validates(xsd: xmlschema.XMLSchema) -> None:
    data = _data(files=(_file_a(annotations=FILE_ANNOTATIONS),), annotations=REPORT_ANNOTATIONS)
    root = _valid(ct.report_xml(data), xsd)
    assert len(root.findall("incidentSummary/reportAnnotations/*")) == len(REPORT_ANNOTATIONS)
    details = _valid(ct.file_details_xml("1", "f", data.files[0]), xsd)
    assert len(details.findall("fileAnnotations/*")) == len(FILE_ANNOTATIONS)
