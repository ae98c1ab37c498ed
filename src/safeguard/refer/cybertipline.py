"""CyberTipline XML: the `<report>` document for a referral to NCMEC, the `<fileDetails>`
document sent after each file upload, and checks of both against NCMEC's XML Schema
(schemas/cyber_tipline.xsd). `missing()` says what a report still lacks before it can be
sent; `validate()` lists every schema problem of a document without raising.

Elements are written in the order the schema's sequences demand, and empty optional
elements are left out. Values the schema restricts (incident type, annotations, IP event
names, industry classification, report ids) are checked here and refused with an
InvalidRequest that names the problem."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring as safe_fromstring  # type: ignore[import-untyped]

from safeguard.errors import InvalidRequest
from safeguard.refer.model import (
    CHILD_PORNOGRAPHY,
    ONLINE_ENTICEMENT,
    DeviceId,
    IpCapture,
    ReportData,
    ReportedAccount,
    ReportFile,
    Victim,
)

if TYPE_CHECKING:  # xmlschema is loaded when a document is first validated
    import xmlschema

#: NCMEC's schema, bundled with safeguard (schemas/README.md says where it comes from)
SCHEMA_PATH = Path(__file__).with_name("schemas") / "cyber_tipline.xsd"

#: the XSD's `incidentType` enumeration (all of it; the model names the two we use)
INCIDENT_TYPES = (
    CHILD_PORNOGRAPHY,
    "Child Sex Trafficking",
    "Child Sex Tourism",
    "Child Sexual Molestation",
    "Misleading Domain Name",
    "Misleading Words or Digital Images on the Internet",
    ONLINE_ENTICEMENT,
    "Unsolicited Obscene Material Sent to a Child",
)

#: our report annotation names -> the XSD's `reportAnnotations` children
REPORT_ANNOTATION_TAGS = {
    "sextortion": "sextortion",
    "csam_solicitation": "csamSolicitation",
    "minor_to_minor_interaction": "minorToMinorInteraction",
    "spam": "spam",
    "sadistic_online_exploitation": "sadisticOnlineExploitation",
}

#: our file annotation names -> the XSD's `fileAnnotations` children
FILE_ANNOTATION_TAGS = {
    "animated_drawing_virtual_or_hentai": "animeDrawingVirtualHentai",
    "potential_meme": "potentialMeme",
    "viral": "viral",
    "possible_self_production": "possibleSelfProduction",
    "physical_harm": "physicalHarm",
    "violence_gore": "violenceGore",
    "bestiality": "bestiality",
    "live_streaming": "liveStreaming",
    "infant": "infant",
    "generative_ai": "generativeAi",
}

#: the XSD's `ipCaptureType` enumeration (eventName of IP and device captures)
IP_EVENTS = ("Login", "Registration", "Purchase", "Upload", "Other", "Unknown")

#: the XSD's `fileClassification` enumeration
INDUSTRY_CLASSIFICATIONS = ("A1", "A2", "B1", "B2")

#: hashes of a file's bytes, sent as `originalFileHash` with these hashType names; any
#: other signal (pdq, video hashes) goes into `<details type="HASH">` as a name and value
_BINARY_HASH_TYPES = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "sha512": "SHA512"}

#: the documents this module writes: the only roots `validate()` accepts
_ROOTS = ("report", "fileDetails")

#: characters XML 1.0 cannot carry at all (control characters other than tab, LF, CR)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@functools.cache
def schema() -> xmlschema.XMLSchema:
    """NCMEC's schema, loaded once (loading takes about a second)."""
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMA_PATH))


# -- small builders ------------------------------------------------------------------------


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """Append a child `tag` with `text` (and attributes) to `parent`; return it."""
    child = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        child.text = _clean(text)
    return child


def _add_opt(parent: ET.Element, tag: str, text: str | None) -> None:
    """Append `tag` only when `text` has something in it."""
    if text:
        _add(parent, tag, text)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _when(at: datetime) -> str:
    """An xs:dateTime with its UTC offset; a naive time is taken as UTC, as elsewhere."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.isoformat(timespec="seconds")


def _document(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# -- checks of restricted values -----------------------------------------------------------


def _annotation_tags(names: Iterable[str], tags: dict[str, str], what: str) -> list[str]:
    """The XSD tags for `names`, in the XSD's order; unknown names are refused."""
    unknown = sorted(set(names) - tags.keys())
    if unknown:
        raise InvalidRequest(
            f"unknown {what} annotation(s) {', '.join(map(repr, unknown))}; "
            f"CyberTipline knows {', '.join(tags)}"
        )
    wanted = set(names)
    return [tag for name, tag in tags.items() if name in wanted]


def _incident_type(value: str) -> str:
    if value not in INCIDENT_TYPES:
        raise InvalidRequest(
            f"incident type {value!r} is not a CyberTipline incident type; use one of "
            + "; ".join(INCIDENT_TYPES)
        )
    return value


def _ip_event(event: str) -> str:
    for known in IP_EVENTS:
        if event.strip().lower() == known.lower():
            return known
    raise InvalidRequest(
        f"IP capture event {event!r} is not one CyberTipline knows; use one of "
        + ", ".join(IP_EVENTS)
    )


def _report_id(value: str, what: str) -> str:
    """A CyberTipline report id: digits only (the XSD's xs:long)."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidRequest(f"{what} {value!r} is not a CyberTipline report id (digits only)")
    return text


def _classification(value: str) -> str:
    if value not in INDUSTRY_CLASSIFICATIONS:
        raise InvalidRequest(
            f"industry classification {value!r} is not one of "
            + ", ".join(INDUSTRY_CLASSIFICATIONS)
        )
    return value


# -- shared complex types ------------------------------------------------------------------


def _ip_capture(parent: ET.Element, capture: IpCapture) -> None:
    event = _add(parent, "ipCaptureEvent")
    _add(event, "ipAddress", capture.ip)
    _add(event, "eventName", _ip_event(capture.event))
    _add(event, "dateTime", _when(capture.at))
    if capture.port is not None:
        _add(event, "port", str(capture.port))


def _device_id(parent: ET.Element, device: DeviceId) -> None:
    element = _add(parent, "deviceId")
    _add(element, "idType", device.id_type)
    _add(element, "idValue", device.value)


def _hash_label(signal_type: str) -> str:
    key = signal_type.strip().lower()
    return _BINARY_HASH_TYPES.get(key, key.upper())


def _hash_summary(f: ReportFile) -> str:
    """One line naming a file and its hashes, for a file NCMEC will not receive."""
    hashes = "; ".join(f"{_hash_label(t)} {v}" for t, v in f.hashes.items())
    line = f"File {f.name!r} (hashes only, no copy uploaded): {hashes or 'no hashes'}"
    if f.location:
        line += f". Location: {f.location}"
    if f.detected_by:
        line += f". Detected by: {f.detected_by}"
    return line


# -- the report ----------------------------------------------------------------------------


def _incident_summary(root: ET.Element, data: ReportData) -> None:
    summary = _add(root, "incidentSummary")
    _add(summary, "incidentType", _incident_type(data.incident_type))
    _add_opt(summary, "platform", data.reporter.org_name)
    tags = _annotation_tags(data.annotations, REPORT_ANNOTATION_TAGS, "report")
    if tags:
        annotations = _add(summary, "reportAnnotations")
        for tag in tags:
            _add(annotations, tag, "true")
    _add(summary, "incidentDateTime", _when(data.incident_at))


def _places(data: ReportData) -> list[str]:
    """Where the incident happened: the web page, then where each file was posted."""
    places = [data.web_page] if data.web_page else []
    for f in data.files:
        if f.location and f.location not in places:
            places.append(f.location)
    return places


def _internet_details(root: ET.Element, data: ReportData) -> None:
    places = _places(data)
    if places:
        page = _add(_add(root, "internetDetails"), "webPageIncident")
        for url in places:
            _add(page, "url", url)


def _reporter(root: ET.Element, data: ReportData) -> None:
    who = data.reporter
    reporter = _add(root, "reporter")
    person = _add(reporter, "reportingPerson")
    _add_opt(person, "firstName", who.contact_first_name)
    _add_opt(person, "lastName", who.contact_last_name)
    _add_opt(person, "phone", who.contact_phone)
    _add_opt(person, "email", who.contact_email)
    _add_opt(reporter, "legalURL", who.url)


def _disabled(parent: ET.Element, account: ReportedAccount) -> None:
    if account.disabled_at is None:
        return
    permanently = account.disabled_permanently
    tag = "accountPermanentlyDisabled" if permanently else "accountTemporarilyDisabled"
    attrs = {"disabledDate": _when(account.disabled_at)}
    if account.user_notified is not None:
        attrs["userNotified"] = _bool(account.user_notified)
    _add(parent, tag, "true", **attrs)


def _reported_user(root: ET.Element, data: ReportData) -> None:
    account = data.account
    user = _add(root, "personOrUserReported")
    if account.emails:
        person = _add(user, "personOrUserReportedPerson")
        for email in account.emails:
            _add(person, "email", email)
    _add_opt(user, "espIdentifier", account.account_id)
    _add_opt(user, "screenName", account.screen_name)
    _add_opt(user, "displayName", account.display_name)
    _add_opt(user, "profileUrl", account.profile_url)
    for capture in account.ip_captures:
        _ip_capture(user, capture)
    for device in account.device_ids:
        _device_id(user, device)
    for report_id in data.prior_reports:
        _add(user, "priorCTReports", _report_id(report_id, "prior report"))
    _disabled(user, account)
    for other in account.connected_accounts:
        _add_opt(_add(user, "associatedAccount", type="Linked"), "espIdentifier", other)


def _victim(root: ET.Element, victim: Victim) -> None:
    element = _add(root, "victim")
    _add(element, "victimPerson")  # required by the schema; we hold no personal details
    _add_opt(element, "espIdentifier", victim.account_id)
    _add_opt(element, "screenName", victim.screen_name)
    if victim.age_band:
        _add(element, "additionalInfo", f"Age band given by the platform: {victim.age_band}")


def _additional_info(data: ReportData) -> str:
    parts = [data.additional_info.strip()] if data.additional_info.strip() else []
    parts += [_hash_summary(f) for f in data.files if f.evidence_id is None]
    return "\n\n".join(parts)


def report_xml(data: ReportData) -> bytes:
    """The CyberTipline `<report>` document for `data` (UTF-8, with an XML declaration).

    Raises InvalidRequest for a value the schema cannot carry: an incident type, annotation
    or IP event it does not know, or a prior report id that is not a number."""
    root = ET.Element("report")
    _incident_summary(root, data)
    _internet_details(root, data)
    _reporter(root, data)
    _reported_user(root, data)
    for victim in data.victims:
        _victim(root, victim)
    _add_opt(root, "additionalInfo", _additional_info(data))
    return _document(root)


# -- file details --------------------------------------------------------------------------


def _binary_hashes(parent: ET.Element, f: ReportFile) -> None:
    """Hashes of the file's bytes (md5, sha1, sha256, ...) as `originalFileHash`."""
    for signal_type, value in f.hashes.items():
        label = _BINARY_HASH_TYPES.get(signal_type.strip().lower())
        if label:
            _add(parent, "originalFileHash", value, hashType=label)


def _signal_details(parent: ET.Element, f: ReportFile) -> None:
    """Other signals of the file (pdq, ...) as named values of `<details type="HASH">`."""
    others = [(t, v) for t, v in f.hashes.items() if t.strip().lower() not in _BINARY_HASH_TYPES]
    if others:
        details = _add(parent, "details", type="HASH")
        for signal_type, value in others:
            pair = _add(details, "nameValuePair")
            _add(pair, "name", _hash_label(signal_type))
            _add(pair, "value", value)


def file_details_xml(report_id: str, file_id: str, f: ReportFile) -> bytes:
    """The `<fileDetails>` document for file `file_id` uploaded to report `report_id`.

    Raises InvalidRequest for a report id that is not a number, an empty file id, or an
    annotation or industry classification the schema does not know."""
    if not file_id.strip():
        raise InvalidRequest("file details need the file id NCMEC gave the upload")
    root = ET.Element("fileDetails")
    _add(root, "reportId", _report_id(report_id, "report id"))
    _add(root, "fileId", file_id.strip())
    _add_opt(root, "originalFileName", f.name)
    if f.uploaded_at is not None:
        _add(root, "uploadedToEspTimestamp", _when(f.uploaded_at))
    _add_opt(root, "locationOfFile", f.location)
    _add(root, "fileViewedByEsp", _bool(f.viewed_by_platform))
    if f.publicly_available is not None:
        _add(root, "publiclyAvailable", _bool(f.publicly_available))
    tags = _annotation_tags(f.annotations, FILE_ANNOTATION_TAGS, "file")
    if tags:
        annotations = _add(root, "fileAnnotations")
        for tag in tags:
            _add(annotations, tag, "true")
    if f.industry_classification:
        _add(root, "industryClassification", _classification(f.industry_classification))
    _binary_hashes(root, f)
    if f.ip_capture is not None:
        _ip_capture(root, f.ip_capture)
    _signal_details(root, f)
    if f.detected_by:
        _add(root, "additionalInfo", f"Detected by: {f.detected_by}")
    return _document(root)


# -- checks --------------------------------------------------------------------------------


def validate(xml: bytes) -> list[str]:
    """Every problem of `xml` against NCMEC's schema, one readable line each ("path:
    reason"); empty when the document is valid. Never raises: a document that is not
    well-formed XML, or that declares entities or a DTD, is a problem line too."""
    try:
        root = safe_fromstring(xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    except DefusedXmlException as exc:
        return [f"refused XML (DTDs and entities are not allowed): {exc}"]
    if root.tag not in _ROOTS:
        return [f"/{root.tag}: not a CyberTipline document (expected <report> or <fileDetails>)"]
    import xmlschema

    try:
        return [f"{e.path or '/'}: {e.reason or e.message}" for e in schema().iter_errors(root)]
    except xmlschema.XMLSchemaException as exc:  # defensive: the validator itself gave up
        return [f"could not validate: {exc}"]


def missing(data: ReportData) -> list[str]:
    """What a CyberTipline report needs and `data` lacks, by our model's field names.

    Empty when the report can be sent. Covers the schema's required items that come from
    our data (incident type and time, the reporting person, IP address and device id
    values), at least one place for the incident (the schema's documentation asks for an
    `internetDetails` in every report), the reported account, and something to report for
    a child-pornography incident (a file or additional information)."""
    gaps: list[str] = []
    if data.incident_type not in INCIDENT_TYPES:
        gaps.append("incident_type")
    if data.incident_at is None:
        gaps.append("incident_at")
    reporter = data.reporter
    for name, value in (
        ("contact_first_name", reporter.contact_first_name),
        ("contact_last_name", reporter.contact_last_name),
        ("contact_email", reporter.contact_email),
    ):
        if not value.strip():
            gaps.append(f"reporter.{name}")
    if not data.account.account_id.strip():
        gaps.append("account.account_id")
    for i, capture in enumerate(data.account.ip_captures):
        if not capture.ip.strip():
            gaps.append(f"account.ip_captures[{i}].ip")
    for i, device in enumerate(data.account.device_ids):
        if not device.id_type.strip():
            gaps.append(f"account.device_ids[{i}].id_type")
        if not device.value.strip():
            gaps.append(f"account.device_ids[{i}].value")
    if not _places(data):
        gaps.append("web_page")
    nothing_reported = not data.files and not data.additional_info.strip()
    if data.incident_type == CHILD_PORNOGRAPHY and nothing_reported:
        gaps.append("files or additional_info")
    for i, f in enumerate(data.files):
        if f.evidence_id is None and not f.hashes:
            gaps.append(f"files[{i}].hashes")
    return gaps
