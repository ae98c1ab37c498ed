"""The NCA report record (safeguard.refer.nca): its sections and fields, the content keys that
stop double referral, the required and recommended fields, and the printable summary.

All data is synthetic: made-up accounts, documentation IP ranges, hex-digit hashes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from safeguard.errors import InvalidRequest, SafeguardError
from safeguard.refer.model import (
    CHILD_PORNOGRAPHY,
    ONLINE_ENTICEMENT,
    DeviceId,
    IpCapture,
    ReportData,
    ReportedAccount,
    Reporter,
    ReportFile,
    Victim,
)
from safeguard.refer.nca import (
    DEFAULT_STATEMENT,
    LABELS,
    SCHEMA_VERSION,
    Declaration,
    content_keys,
    missing,
    nca_record,
    nca_summary,
    recommended_missing,
)

T0 = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
SHA_A = "a1" * 32
SHA_B = "b2" * 32
MD5_A = "c3" * 16
MD5_C = "d4" * 16
PDQ_A = "e5" * 32
PDQ_D = "f6" * 32

REPORTER = Reporter(
    org_name="Example Social Ltd",
    contact_first_name="Alex",
    contact_last_name="Moderator",
    contact_email="safety@example.test",
    contact_phone="+44 20 7946 0000",
    url="https://social.example.test",
)

UPLOAD_A = IpCapture(ip="203.0.113.7", at=T0 - timedelta(hours=2), event="Upload", port=50123)
UPLOAD_B = IpCapture(ip="2001:db8::42", at=T0 - timedelta(hours=1), event="Upload", port=443)
LOGIN = IpCapture(ip="198.51.100.9", at=T0 - timedelta(days=1), event="Login", port=61001)

FILE_A = ReportFile(
    name="upload-0001.jpg",
    hashes={"sha256": SHA_A, "md5": MD5_A, "pdq": PDQ_A},
    evidence_id=11,
    location="https://social.example.test/posts/7001",
    uploaded_at=T0 - timedelta(hours=2),
    ip_capture=UPLOAD_A,
    detected_by="hash match in bank known-list (sha256, exact)",
    industry_classification="A1",
    annotations=("viral",),
    viewed_by_platform=True,
    publicly_available=False,
)
FILE_B = ReportFile(
    name="upload-0002.png",
    hashes={"sha256": SHA_B, "pdq": PDQ_D},
    location="https://social.example.test/messages/thread-88",
    uploaded_at=T0 - timedelta(hours=1),
    ip_capture=UPLOAD_B,
    detected_by="hash match in bank partner-list (pdq, distance 4)",
    industry_classification="B2",
    viewed_by_platform=False,
    publicly_available=True,
)

ACCOUNT = ReportedAccount(
    account_id="u-100234",
    screen_name="sample_sender",
    display_name="Sample Sender",
    profile_url="https://social.example.test/u/100234",
    emails=("sender@example.test", "sender.alt@example.test"),
    ip_captures=(LOGIN, UPLOAD_A),
    device_ids=(DeviceId(id_type="advertising id", value="0f0e0d0c-aaaa-bbbb-cccc-000000000001"),),
    disabled_at=T0 + timedelta(minutes=5),
    disabled_permanently=True,
    user_notified=False,
    connected_accounts=("u-200001", "u-200002"),
)

FULL = ReportData(
    case_id=42,
    incident_type=CHILD_PORNOGRAPHY,
    incident_at=T0,
    reporter=REPORTER,
    account=ACCOUNT,
    files=(FILE_A, FILE_B),
    victims=(Victim(account_id="u-300003", screen_name="young_user", age_band="13-15"),),
    annotations=("sextortion",),
    prior_reports=("CT-0001234",),
    additional_info="Both files were sent in a private message thread.\nThe sender was blocked.",
    web_page="https://social.example.test/messages/thread-88",
)

# a behaviour-only case (the pathways model): no files, a description instead
PATHWAYS = ReportData(
    case_id=43,
    incident_type=ONLINE_ENTICEMENT,
    incident_at=T0,
    reporter=REPORTER,
    account=ACCOUNT,
    additional_info="Risk pattern of contact with several young accounts; messages attached.",
    web_page="https://social.example.test/messages/thread-91",
)

DECLARATION = Declaration(made_by="Alex Moderator", role="Authorised person", at=T0)
CREATED = T0 + timedelta(hours=1)


def record(data: ReportData = FULL, declaration: Declaration = DECLARATION) -> dict[str, object]:
    return nca_record(data, declaration, created_at=CREATED)


def section(rec: dict[str, object], name: str) -> dict[str, object]:
    value = rec[name]
    assert isinstance(value, dict)
    return value


def items(rec: dict[str, object], name: str) -> list[dict[str, object]]:
    value = rec[name]
    assert isinstance(value, list)
    return value


# --- the record -----------------------------------------------------------------------------


def test_record_sections_in_order() -> None:
    assert list(record()) == [
        "report",
        "provider",
        "incident",
        "content",
        "account",
        "connected_accounts",
        "victims",
        "prior_reports",
        "additional_information",
        "declaration",
    ]


def test_report_and_provider_sections() -> None:
    rec = record()
    assert section(rec, "report") == {
        "schema": SCHEMA_VERSION,
        "case_id": 42,
        "created_at": "2026-05-04T11:30:00+00:00",
    }
    assert section(rec, "provider") == {
        "organisation": "Example Social Ltd",
        "contact": "Alex Moderator",
        "email": "safety@example.test",
        "phone": "+44 20 7946 0000",
        "url": "https://social.example.test",
    }


def test_incident_section() -> None:
    assert section(record(), "incident") == {
        "type": CHILD_PORNOGRAPHY,
        "at": "2026-05-04T10:30:00+00:00",
        "where": {"web_page": "https://social.example.test/messages/thread-88"},
        "annotations": ["sextortion"],
    }


def test_content_holds_hash_detection_location_time_ip_and_port() -> None:
    first, second = items(record(), "content")
    assert first == {
        "name": "upload-0001.jpg",
        "hashes": {"md5": MD5_A, "pdq": PDQ_A, "sha256": SHA_A},
        "detected_by": "hash match in bank known-list (sha256, exact)",
        "location": "https://social.example.test/posts/7001",
        "uploaded_at": "2026-05-04T08:30:00+00:00",
        "upload_ip": {
            "ip": "203.0.113.7",
            "port": 50123,
            "at": "2026-05-04T08:30:00+00:00",
            "event": "Upload",
        },
        "viewed_by_provider": True,
        "industry_classification": "A1",
        "publicly_available": False,
        "annotations": ["viral"],
        "copy_preserved": True,
    }
    assert second["hashes"] == {"pdq": PDQ_D, "sha256": SHA_B}
    assert second["detected_by"] == "hash match in bank partner-list (pdq, distance 4)"
    assert second["location"] == "https://social.example.test/messages/thread-88"
    assert second["upload_ip"] == {
        "ip": "2001:db8::42",
        "port": 443,
        "at": "2026-05-04T09:30:00+00:00",
        "event": "Upload",
    }
    assert second["viewed_by_provider"] is False
    assert second["copy_preserved"] is False


def test_account_section() -> None:
    assert section(record(), "account") == {
        "id": "u-100234",
        "screen_name": "sample_sender",
        "display_name": "Sample Sender",
        "profile_url": "https://social.example.test/u/100234",
        "emails": ["sender@example.test", "sender.alt@example.test"],
        "ip_captures": [
            {
                "ip": "198.51.100.9",
                "port": 61001,
                "at": "2026-05-03T10:30:00+00:00",
                "event": "Login",
            },
            {
                "ip": "203.0.113.7",
                "port": 50123,
                "at": "2026-05-04T08:30:00+00:00",
                "event": "Upload",
            },
        ],
        "device_ids": [{"type": "advertising id", "value": "0f0e0d0c-aaaa-bbbb-cccc-000000000001"}],
        "disabled": True,
        "disabled_at": "2026-05-04T10:35:00+00:00",
        "disabled_permanently": True,
        "user_notified": False,
    }


def test_connections_victims_prior_reports_and_additional_information() -> None:
    rec = record()
    assert rec["connected_accounts"] == ["u-200001", "u-200002"]
    assert rec["victims"] == [
        {"account_id": "u-300003", "screen_name": "young_user", "age_band": "13-15"}
    ]
    assert rec["prior_reports"] == ["CT-0001234"]
    assert rec["additional_information"] == FULL.additional_info


def test_declaration_section() -> None:
    assert section(record(), "declaration") == {
        "made_by": "Alex Moderator",
        "role": "Authorised person",
        "at": "2026-05-04T10:30:00+00:00",
        "statement": DEFAULT_STATEMENT,
    }
    assert "accurate and complete" in DEFAULT_STATEMENT
    assert "best of the provider's knowledge" in DEFAULT_STATEMENT


def test_account_not_disabled_and_unknowns_are_null() -> None:
    account = ReportedAccount(account_id="u-1")
    rec = record(dataclasses.replace(FULL, account=account, files=()))
    acc = section(rec, "account")
    assert acc["disabled"] is False
    assert acc["disabled_at"] is None
    assert acc["user_notified"] is None
    assert acc["ip_captures"] == []
    assert rec["connected_accounts"] == []


def test_record_is_json_serialisable_and_round_trips() -> None:
    rec = record()
    assert json.loads(json.dumps(rec)) == rec


def test_record_holds_no_bytes_and_no_evidence_ids() -> None:
    def leaves(value: object) -> Iterator[object]:
        if isinstance(value, dict):
            for v in value.values():
                yield from leaves(v)
        elif isinstance(value, list):
            for v in value:
                yield from leaves(v)
        else:
            yield value

    found = list(leaves(record()))
    assert not any(isinstance(v, bytes | bytearray) for v in found)
    assert 11 not in found  # FILE_A's evidence id: internal, never sent


def test_times_are_utc_with_offset() -> None:
    naive = dataclasses.replace(FULL, incident_at=datetime(2026, 5, 4, 10, 30))
    assert section(record(naive), "incident")["at"] == "2026-05-04T10:30:00+00:00"
    plus_two = timezone(timedelta(hours=2))
    shifted = dataclasses.replace(FULL, incident_at=datetime(2026, 5, 4, 12, 30, tzinfo=plus_two))
    assert section(record(shifted), "incident")["at"] == "2026-05-04T10:30:00+00:00"


def test_created_at_defaults_to_now() -> None:
    before = datetime.now(UTC)
    rec = nca_record(FULL, DECLARATION)
    created = datetime.fromisoformat(str(section(rec, "report")["created_at"]))
    assert created.tzinfo is not None
    assert before <= created <= datetime.now(UTC)


# --- content keys ---------------------------------------------------------------------------


def test_content_keys_prefer_sha256_then_md5_then_pdq() -> None:
    md5_only = ReportFile(name="c", hashes={"md5": MD5_C, "pdq": PDQ_D})
    pdq_only = ReportFile(name="d", hashes={"pdq": PDQ_D})
    data = dataclasses.replace(FULL, files=(FILE_A, md5_only, pdq_only))
    assert content_keys(data) == sorted([f"sha256:{SHA_A}", f"md5:{MD5_C}", f"pdq:{PDQ_D}"])


def test_content_keys_stable_across_file_order_and_case() -> None:
    forward = content_keys(FULL)
    backward = content_keys(dataclasses.replace(FULL, files=(FILE_B, FILE_A)))
    upper = ReportFile(name="same", hashes={"SHA256": SHA_A.upper()})
    again = content_keys(dataclasses.replace(FULL, files=(upper, FILE_B)))
    assert forward == backward == again == sorted([f"sha256:{SHA_A}", f"sha256:{SHA_B}"])


def test_content_keys_differ_for_different_content() -> None:
    other = ReportFile(name="upload-0001.jpg", hashes={"sha256": "0" * 64})
    assert content_keys(dataclasses.replace(FULL, files=(other,))) != content_keys(
        dataclasses.replace(FULL, files=(FILE_A,))
    )


def test_content_keys_without_files_name_account_and_incident() -> None:
    keys = content_keys(PATHWAYS)
    assert keys == ["account:u-100234:incident:2026-05-04T10:30:00+00:00"]
    later = dataclasses.replace(PATHWAYS, incident_at=T0 + timedelta(days=3))
    other_account = dataclasses.replace(PATHWAYS, account=ReportedAccount(account_id="u-9"))
    assert content_keys(later) != keys
    assert content_keys(other_account) != keys


def test_content_keys_refuse_a_file_without_hashes() -> None:
    bare = ReportFile(name="nohash.jpg", hashes={})
    with pytest.raises(SafeguardError, match=r"files\[1\].*nohash\.jpg"):
        content_keys(dataclasses.replace(FULL, files=(FILE_A, bare)))


# --- required and recommended fields --------------------------------------------------------


def test_nothing_missing_from_a_full_report() -> None:
    assert missing(FULL, DECLARATION) == []
    assert recommended_missing(FULL) == []
    assert missing(PATHWAYS, DECLARATION) == []


def test_missing_names_exactly_the_absent_fields() -> None:
    reporter = dataclasses.replace(REPORTER, contact_email=" ", contact_last_name="")
    files = (
        FILE_A,
        ReportFile(name="x", hashes={}, detected_by="user report"),
        ReportFile(name="y", hashes={"md5": MD5_C}, detected_by=""),
    )
    data = dataclasses.replace(FULL, reporter=reporter, files=files)
    assert missing(data, None) == [
        "reporter.contact_last_name",
        "reporter.contact_email",
        "files[1].hashes",
        "files[2].detected_by",
        "declaration",
    ]


def test_missing_declaration_parts_and_account_id() -> None:
    data = dataclasses.replace(FULL, account=ReportedAccount(account_id=""))
    blank = Declaration(made_by="", role=" ", at=T0)
    assert missing(data, blank) == [
        "account.account_id",
        "declaration.made_by",
        "declaration.role",
    ]


def test_missing_description_when_there_are_no_files() -> None:
    assert missing(dataclasses.replace(PATHWAYS, additional_info=""), DECLARATION) == [
        "additional_info"
    ]


def test_recommended_missing_names_exactly_the_absent_fields() -> None:
    reporter = dataclasses.replace(REPORTER, contact_phone=None)
    bare = ReportFile(name="p", hashes={"pdq": PDQ_D}, detected_by="classifier score 0.97")
    no_port = dataclasses.replace(FILE_A, ip_capture=dataclasses.replace(UPLOAD_A, port=None))
    account = ReportedAccount(
        account_id="u-5", ip_captures=(LOGIN, dataclasses.replace(UPLOAD_A, port=None))
    )
    data = dataclasses.replace(FULL, reporter=reporter, files=(no_port, bare), account=account)
    assert recommended_missing(data) == [
        "reporter.contact_phone",
        "files[0].ip_capture.port",
        "files[1].location",
        "files[1].uploaded_at",
        "files[1].ip_capture",
        "files[1].industry_classification",
        "files[1].hashes.sha256",
        "account.screen_name",
        "account.profile_url",
        "account.emails",
        "account.device_ids",
        "account.connected_accounts",
        "account.ip_captures[1].port",
        "account.user_notified",
    ]


def test_recommended_web_page_only_without_files() -> None:
    assert "web_page" in recommended_missing(dataclasses.replace(PATHWAYS, web_page=None))
    assert "web_page" not in recommended_missing(dataclasses.replace(FULL, web_page=None))


# --- the summary ----------------------------------------------------------------------------


def test_summary_holds_hashes_ip_port_and_declaration() -> None:
    text = nca_summary(record())
    for value in (SHA_A, MD5_A, PDQ_A, SHA_B, PDQ_D):
        assert value in text
    assert "203.0.113.7 port 50123" in text
    assert "2001:db8::42 port 443" in text
    assert "198.51.100.9 port 61001" in text
    assert DEFAULT_STATEMENT in text
    assert "Alex Moderator" in text


def test_summary_has_headings_and_a_file_table() -> None:
    text = nca_summary(record())
    assert text.startswith("# CSEA report to the National Crime Agency: case 42\n")
    for heading in ("Reporting provider", "Incident", "Content", "Reported account", "Declaration"):
        assert f"\n## {heading}\n" in text
    assert "| # | Name | Hash type | Hash value |" in text
    assert f"| 1 | upload-0001.jpg | sha256 | {SHA_A} |" in text
    assert f"| 2 | upload-0002.png | pdq | {PDQ_D} |" in text


def test_summary_shows_every_field_of_the_record() -> None:
    rec = record()
    text = nca_summary(rec)

    def walk(value: object, key: str) -> Iterator[tuple[str, object]]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, k)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v, key)
        else:
            yield key, value

    for key, value in walk(rec, ""):
        if key in LABELS:
            assert LABELS[key] in text, key
        if isinstance(value, str):
            for line in value.splitlines():
                assert line in text, (key, line)
        elif isinstance(value, int) and not isinstance(value, bool):
            assert str(value) in text, key


def test_summary_of_a_json_round_tripped_record_is_the_same() -> None:
    rec = record()
    assert nca_summary(json.loads(json.dumps(rec))) == nca_summary(rec)


def test_summary_escapes_markup_in_user_text() -> None:
    odd = dataclasses.replace(FILE_A, name="a|b<script>.jpg")
    text = nca_summary(record(dataclasses.replace(FULL, files=(odd,))))
    assert "a\\|b\\<script\\>.jpg" in text
    assert "<script>" not in text


def test_summary_refuses_what_is_not_an_nca_record() -> None:
    with pytest.raises(InvalidRequest, match="not an NCA report record"):
        nca_summary({"report": {"schema": "something-else"}})
    with pytest.raises(InvalidRequest):
        nca_summary({})


# --- a behaviour-only (pathways) report -----------------------------------------------------


def test_pathways_report_without_files() -> None:
    rec = record(PATHWAYS)
    assert rec["content"] == []
    assert section(rec, "incident")["type"] == ONLINE_ENTICEMENT
    assert section(rec, "incident")["where"] == {
        "web_page": "https://social.example.test/messages/thread-91"
    }
    assert rec["connected_accounts"] == ["u-200001", "u-200002"]
    assert json.loads(json.dumps(rec)) == rec
    text = nca_summary(rec)
    assert "No files: this report concerns behaviour, not media." in text
    assert "| # | Name |" not in text
    assert PATHWAYS.additional_info in text
    assert "203.0.113.7 port 50123" in text  # the account's own IP captures
    assert DEFAULT_STATEMENT in text
