"""The report record for the UK National Crime Agency (NCA): what a UK user-to-user service
sends when it reports child sexual exploitation and abuse (CSEA) content.

Section 66 of the Online Safety Act 2023 makes UK providers of regulated user-to-user
services report CSEA content they detect to the NCA; section 67 lets the Secretary of State
say by regulations what a report contains. The first such regulations (SI 2025/368) were
revoked before they came into force, to give the NCA time to finish its reporting portal;
the Online Safety (CSEA Content Reporting by Regulated User-to-User Service Providers)
Regulations 2026 (SI 2026/268, in force 7 April 2026) replaced them. Schedule 1 of the 2025
text lists what a report holds, in this order:

1. who the authorised person submitting the report is (`provider` here: the organisation
   and the person the NCA may contact);
2. the detected CSEA content, where that information is available (`content`: the hash
   values, how and when it was detected, where it was posted, the IP address and port of
   its upload);
3. further information the authorised person has about it (`incident`, `victims`,
   `prior_reports`, `additional_information`);
4. the user the provider identified (`account`: identifiers, names, email addresses, IP
   addresses with port numbers and times, device identifiers);
5. identity documents the provider holds for the user (safeguard holds none);
6. other information reasonably available to the provider (`connected_accounts`: the
   regulations' "connections with other accounts", links between two accounts created by
   the service's own features);
7. a declaration that all the information reasonably available has been included
   (`declaration`: who made it, in what role, when, and the statement).

Regulation 2 of SI 2026/268 defines the terms used above: hash value, IP address, port number
(a connection endpoint), exif data, connections with other accounts, and the NCA's online
portal and API through which reports go. Reports also carry a priority (regulation 14); the
shared model has no field for it yet, so this record leaves it to the sender.

Sources (read for this module; nothing here is quoted from them):
- https://legislation.gov.uk/uksi/2025/368/contents/made (Part 3 "Contents of report",
  Schedule 1 "CSEA information to be included in reports")
- https://www.legislation.gov.uk/uksi/2026/268/regulation/2/made (interpretation)
- https://www.parallelparliament.co.uk/question/86451/offences-against-children-internet
  (Home Office answer: the 2025 instruments revoked, the NCA's reporting body due in 2026)
- https://legislationtracker.co.uk/article/uk-online-safety-regulations-2025-csea-content-reporting-20-03-25
  (summary: registration, report contents, API or portal, urgency, data retention)

The record never holds content: files appear by name and hashes only. Times are ISO 8601 in
UTC with their offset (a time without a zone is taken as UTC, as elsewhere in safeguard).
`missing` names what the regulations require and the record lacks; `recommended_missing`
names what the NCA would want where the platform knows it. `nca_summary` writes the record
as Markdown for the NCA's manual reporting route (print it to PDF).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from safeguard.errors import InvalidRequest
from safeguard.refer.model import (
    DeviceId,
    IpCapture,
    ReportData,
    ReportedAccount,
    Reporter,
    ReportFile,
    Victim,
)

SCHEMA_VERSION = "safeguard-nca/1"

DEFAULT_STATEMENT = (
    "I declare that the information in this report is accurate and complete to the best of "
    "the provider's knowledge and belief, and that all the information reasonably available "
    "to the provider has been included."
)

#: hash types that identify a file exactly (cryptographic), most preferred first
EXACT_HASH_TYPES = ("sha256", "md5")
#: the order content_keys prefers hash types in; other types follow alphabetically
KEY_HASH_PREFERENCE = ("sha256", "md5", "pdq")


@dataclass(frozen=True)
class Declaration:
    """The reporting provider's declaration: a named person, in a role, at a time, states
    the report is true and complete to the best of the provider's knowledge."""

    made_by: str  # the person's name
    role: str  # their role at the provider, e.g. "Trust and Safety lead (authorised person)"
    at: datetime
    statement: str = DEFAULT_STATEMENT


# --- the record ---------------------------------------------------------------------------


def nca_record(
    data: ReportData, declaration: Declaration, *, created_at: datetime | None = None
) -> dict[str, object]:
    """The NCA report for `data` as a JSON-able dict (see the module docstring for its
    sections). `created_at` defaults to now; hashes only, never content."""
    return {
        "report": {
            "schema": SCHEMA_VERSION,
            "case_id": data.case_id,
            "created_at": _iso(created_at or datetime.now(UTC)),
        },
        "provider": _provider(data.reporter),
        "incident": {
            "type": data.incident_type,
            "at": _iso(data.incident_at),
            "where": {"web_page": data.web_page},
            "annotations": list(data.annotations),
        },
        "content": [_content(f) for f in data.files],
        "account": _account(data.account),
        "connected_accounts": list(data.account.connected_accounts),
        "victims": [_victim(v) for v in data.victims],
        "prior_reports": list(data.prior_reports),
        "additional_information": data.additional_info,
        "declaration": {
            "made_by": declaration.made_by,
            "role": declaration.role,
            "at": _iso(declaration.at),
            "statement": declaration.statement,
        },
    }


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC with its offset; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else _iso(moment)


def _provider(reporter: Reporter) -> dict[str, object]:
    contact = f"{reporter.contact_first_name} {reporter.contact_last_name}".strip()
    return {
        "organisation": reporter.org_name,
        "contact": contact,
        "email": reporter.contact_email,
        "phone": reporter.contact_phone,
        "url": reporter.url,
    }


def _ip(capture: IpCapture) -> dict[str, object]:
    return {
        "ip": capture.ip,
        "port": capture.port,
        "at": _iso(capture.at),
        "event": capture.event,
    }


def _content(f: ReportFile) -> dict[str, object]:
    return {
        "name": f.name,
        "hashes": {kind: f.hashes[kind] for kind in sorted(f.hashes)},
        "detected_by": f.detected_by,
        "location": f.location,
        "uploaded_at": _iso_or_none(f.uploaded_at),
        "upload_ip": None if f.ip_capture is None else _ip(f.ip_capture),
        "viewed_by_provider": f.viewed_by_platform,
        "industry_classification": f.industry_classification,
        "publicly_available": f.publicly_available,
        "annotations": list(f.annotations),
        "copy_preserved": f.evidence_id is not None,
    }


def _device(device: DeviceId) -> dict[str, object]:
    return {"type": device.id_type, "value": device.value}


def _account(account: ReportedAccount) -> dict[str, object]:
    return {
        "id": account.account_id,
        "screen_name": account.screen_name,
        "display_name": account.display_name,
        "profile_url": account.profile_url,
        "emails": list(account.emails),
        "ip_captures": [_ip(c) for c in account.ip_captures],
        "device_ids": [_device(d) for d in account.device_ids],
        "disabled": account.disabled_at is not None,
        "disabled_at": _iso_or_none(account.disabled_at),
        "disabled_permanently": account.disabled_permanently,
        "user_notified": account.user_notified,
    }


def _victim(victim: Victim) -> dict[str, object]:
    return {
        "account_id": victim.account_id,
        "screen_name": victim.screen_name,
        "age_band": victim.age_band,
    }


# --- identity of what a record refers ------------------------------------------------------


def content_keys(data: ReportData) -> list[str]:
    """What the record refers, as sorted keys, so the same content is not referred twice.

    One key per distinct file: "sha256:<hex>", else "md5:<hex>", else "pdq:<hex>", else the
    alphabetically first other hash type (values lower-cased and trimmed). A record with no
    files (a behaviour report) has the single key "account:<id>:incident:<UTC time>", naming
    the account and the incident together. InvalidRequest when a file has no hash at all.
    """
    if not data.files:
        return [f"account:{data.account.account_id}:incident:{_iso(data.incident_at)}"]
    return sorted({_file_key(i, f) for i, f in enumerate(data.files)})


def _file_key(index: int, f: ReportFile) -> str:
    hashes = {k.strip().lower(): v.strip().lower() for k, v in f.hashes.items() if v.strip()}
    others = sorted(k for k in hashes if k not in KEY_HASH_PREFERENCE)
    for kind in (*KEY_HASH_PREFERENCE, *others):
        if kind in hashes:
            return f"{kind}:{hashes[kind]}"
    raise InvalidRequest(
        f"files[{index}] ({f.name!r}) has no hash value; an NCA report identifies content by "
        "its hashes (sha256, md5 or pdq)"
    )


# --- what the record lacks ------------------------------------------------------------------


def missing(data: ReportData, declaration: Declaration | None) -> list[str]:
    """Fields the regulations require of an NCA report that `data` or `declaration` lack,
    by the model's names ("reporter.contact_email", "files[0].hashes", "declaration", ...).
    Empty when the record can be sent."""
    out: list[str] = []
    reporter = data.reporter
    out += _blank(
        {
            "reporter.org_name": reporter.org_name,
            "reporter.contact_first_name": reporter.contact_first_name,
            "reporter.contact_last_name": reporter.contact_last_name,
            "reporter.contact_email": reporter.contact_email,
            "incident_type": data.incident_type,
            "account.account_id": data.account.account_id,
        }
    )
    for i, f in enumerate(data.files):
        if not any(v.strip() for v in f.hashes.values()):
            out.append(f"files[{i}].hashes")
        if not f.detected_by.strip():
            out.append(f"files[{i}].detected_by")
    if not data.files and not data.additional_info.strip():
        # no media: the words describing what was detected are the report's content
        out.append("additional_info")
    if declaration is None:
        out.append("declaration")
    else:
        out += _blank(
            {
                "declaration.made_by": declaration.made_by,
                "declaration.role": declaration.role,
                "declaration.statement": declaration.statement,
            }
        )
    return out


def recommended_missing(data: ReportData) -> list[str]:
    """Fields the regulations ask for where the provider has them, and `data` lacks: worth
    filling in when the platform knows them, but the report can go without."""
    out: list[str] = []
    reporter, account = data.reporter, data.account
    out += _absent({"reporter.contact_phone": reporter.contact_phone, "reporter.url": reporter.url})
    if not data.files:
        out += _absent({"web_page": data.web_page})
    for i, f in enumerate(data.files):
        out += _file_recommended(i, f)
    if not (account.screen_name or account.display_name):
        out.append("account.screen_name")
    out += _absent({"account.profile_url": account.profile_url})
    out += _empty(
        {
            "account.emails": account.emails,
            "account.ip_captures": account.ip_captures,
            "account.device_ids": account.device_ids,
            "account.connected_accounts": account.connected_accounts,
        }
    )
    out += [
        f"account.ip_captures[{i}].port"
        for i, c in enumerate(account.ip_captures)
        if c.port is None
    ]
    if account.user_notified is None:
        out.append("account.user_notified")
    return out


def _file_recommended(i: int, f: ReportFile) -> list[str]:
    out = _absent(
        {
            f"files[{i}].location": f.location,
            f"files[{i}].uploaded_at": f.uploaded_at,
            f"files[{i}].ip_capture": f.ip_capture,
            f"files[{i}].industry_classification": f.industry_classification,
        }
    )
    if f.ip_capture is not None and f.ip_capture.port is None:
        out.append(f"files[{i}].ip_capture.port")
    if f.hashes and not any(f.hashes.get(k, "").strip() for k in EXACT_HASH_TYPES):
        out.append(f"files[{i}].hashes.sha256")
    return out


def _blank(fields: Mapping[str, str]) -> list[str]:
    return [name for name, value in fields.items() if not value.strip()]


def _absent(fields: Mapping[str, object]) -> list[str]:
    return [
        name
        for name, value in fields.items()
        if value is None or (isinstance(value, str) and not value.strip())
    ]


def _empty(fields: Mapping[str, Iterable[object]]) -> list[str]:
    return [name for name, value in fields.items() if not list(value)]


# --- the printable summary ----------------------------------------------------------------

#: section headings, in the record's order
SECTIONS = {
    "report": "Report",
    "provider": "Reporting provider",
    "incident": "Incident",
    "content": "Content",
    "account": "Reported account",
    "connected_accounts": "Connected accounts",
    "victims": "Victims",
    "prior_reports": "Prior reports",
    "additional_information": "Additional information",
    "declaration": "Declaration",
}

#: human labels for the record's keys (others: the key with spaces)
LABELS = {
    "schema": "Record format",
    "case_id": "Case",
    "created_at": "Created",
    "organisation": "Organisation",
    "contact": "Contact",
    "email": "Email",
    "phone": "Phone",
    "url": "Web address",
    "type": "Type",
    "value": "Value",
    "at": "Time",
    "where": "Where",
    "web_page": "Web page",
    "annotations": "Annotations",
    "name": "Name",
    "hashes": "Hashes",
    "detected_by": "How it was detected",
    "location": "Where it was posted",
    "uploaded_at": "Uploaded",
    "upload_ip": "Upload IP address",
    "viewed_by_provider": "Viewed by a person at the provider",
    "industry_classification": "Industry classification",
    "publicly_available": "Publicly available",
    "copy_preserved": "Copy preserved by the provider",
    "id": "Account id",
    "screen_name": "Screen name",
    "display_name": "Display name",
    "profile_url": "Profile",
    "emails": "Email addresses",
    "ip_captures": "IP addresses",
    "device_ids": "Device ids",
    "disabled": "Disabled",
    "disabled_at": "Disabled at",
    "disabled_permanently": "Disabled permanently",
    "user_notified": "User notified",
    "account_id": "Account id",
    "age_band": "Age band",
    "made_by": "Made by",
    "role": "Role",
    "statement": "Statement",
}


def nca_summary(record: Mapping[str, object]) -> str:
    """The record as Markdown for the NCA's manual reporting route: a heading per section,
    "label: value" lines, and a table of the files with their hashes. Every field of the
    record appears. InvalidRequest when `record` is not a safeguard NCA record."""
    report = record.get("report")
    if not isinstance(report, Mapping) or report.get("schema") != SCHEMA_VERSION:
        raise InvalidRequest(f"not an NCA report record (expected schema {SCHEMA_VERSION!r})")
    lines = [f"# CSEA report to the National Crime Agency: case {_text(report.get('case_id'))}"]
    for key, heading in SECTIONS.items():
        lines += ["", f"## {heading}", ""]
        value = record.get(key)
        if key == "content":
            lines += _content_section(_dicts(value, key))
        elif key in ("additional_information", "declaration"):
            lines += _prose_section(value)
        else:
            lines += _block(value)
    return "\n".join(lines).rstrip() + "\n"


def _content_section(files: list[Mapping[str, object]]) -> list[str]:
    if not files:
        return ["No files: this report concerns behaviour, not media."]
    lines = ["| # | Name | Hash type | Hash value |", "|---|---|---|---|"]
    for n, f in enumerate(files, 1):
        hashes = f.get("hashes")
        pairs = list(hashes.items()) if isinstance(hashes, Mapping) else []
        for kind, value in pairs or [("", "")]:
            lines.append(f"| {n} | {_inline(f.get('name'))} | {_inline(kind)} | {_inline(value)} |")
    for n, f in enumerate(files, 1):
        lines += ["", f"### File {n}: {_inline(f.get('name'))}", ""]
        lines += _block(f)
    return lines


def _prose_section(value: object) -> list[str]:
    """Additional information and the declaration keep their line breaks (as paragraphs)."""
    if isinstance(value, Mapping):
        out = _block({k: v for k, v in value.items() if k != "statement"})
        return [*out, "", f"**{LABELS['statement']}:**", "", *_paragraphs(value.get("statement"))]
    return _paragraphs(value) or ["None."]


def _paragraphs(value: object) -> list[str]:
    text = "" if value is None else str(value)
    return [f"> {_escape(line)}" if line.strip() else ">" for line in text.strip().splitlines()]


def _block(value: object, depth: int = 0) -> list[str]:
    """A value as Markdown bullet lines: dicts as "label: value", lists item by item."""
    pad = "  " * depth
    if isinstance(value, Mapping):
        out: list[str] = []
        for key, item in value.items():
            label = _label(key)
            if key == "hashes" and isinstance(item, Mapping):
                pairs = ", ".join(f"{_inline(k)}: {_inline(v)}" for k, v in item.items())
                out.append(f"{pad}- **{label}:** {pairs or _text(None)}")
            elif _is_ip(item):
                out.append(f"{pad}- **{label}:** {_ip_text(item)}")
            elif isinstance(item, Mapping | list) and item:
                out += [f"{pad}- **{label}:**", *_block(item, depth + 1)]
            else:
                out.append(f"{pad}- **{label}:** {_inline(item)}")
        return out or [f"{pad}- {_text(None)}"]
    if isinstance(value, list):
        if not value:
            return [f"{pad}- None."]
        out = []
        for item in value:
            if _is_ip(item):
                out.append(f"{pad}- {_ip_text(item)}")
            elif isinstance(item, Mapping) and not any(
                isinstance(v, Mapping | list) for v in item.values()
            ):
                out.append(f"{pad}- " + "; ".join(_pair(k, v) for k, v in item.items()))
            elif isinstance(item, Mapping):
                inner = _block(item, depth + 1)
                out.append(f"{pad}- " + inner[0].lstrip()[2:])
                out += inner[1:]
            else:
                out.append(f"{pad}- {_inline(item)}")
        return out
    return [f"{pad}{_inline(value)}"]


def _label(key: object) -> str:
    return LABELS.get(str(key), str(key).replace("_", " "))


def _pair(key: object, value: object) -> str:
    return f"**{_label(key)}:** {_inline(value)}"


def _is_ip(value: object) -> bool:
    return isinstance(value, Mapping) and set(value) == {"ip", "port", "at", "event"}


def _ip_text(capture: object) -> str:
    """An IP capture on one line: "203.0.113.7 port 50123 (Upload, 2026-...)"."""
    assert isinstance(capture, Mapping)
    port = capture.get("port")
    where = _inline(capture.get("ip")) + ("" if port is None else f" port {_inline(port)}")
    return f"{where} ({_inline(capture.get('event'))}, {_inline(capture.get('at'))})"


def _dicts(value: object, key: str) -> list[Mapping[str, object]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InvalidRequest(f"NCA report record: {key!r} should be a list of objects")
    return list(value)


def _text(value: object) -> str:
    if value is None:
        return "not known"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) if value else "none"
    return str(value)


def _inline(value: object) -> str:
    """A value on one Markdown line: line breaks folded, left-over markup characters escaped."""
    return _escape(re.sub(r"\s*\n\s*", " ", _text(value)))


def _escape(text: str) -> str:
    """Backslash-escape what would turn into HTML, code or table cells when rendered."""
    return re.sub(r"([\\`<>|])", r"\\\1", text)
