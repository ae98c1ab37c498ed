"""What a referral says, independent of the agency: the incident, the reporting platform,
the reported account, the files and their hashes, victims, earlier reports. Built from a
case (refer/gather.py); written as CyberTipline XML (refer/cybertipline.py) or as the NCA
record (refer/nca.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: CyberTipline incident types (the XSD's `incidentType` enumeration values we use)
CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"

#: report-level annotations a case may carry (mapped to the XSD's `reportAnnotations`)
REPORT_ANNOTATIONS = (
    "sextortion",
    "csam_solicitation",
    "minor_to_minor_interaction",
    "spam",
    "sadistic_online_exploitation",
)
#: per-file annotations (mapped to the XSD's `fileAnnotations`)
FILE_ANNOTATIONS = (
    "animated_drawing_virtual_or_hentai",
    "potential_meme",
    "viral",
    "possible_self_production",
    "physical_harm",
    "violence_gore",
    "bestiality",
    "live_streaming",
    "infant",
    "generative_ai",
)
#: industry classification of a file (ESP categorisation: A1, A2, B1, B2)
INDUSTRY_CLASSIFICATIONS = ("A1", "A2", "B1", "B2")


@dataclass(frozen=True)
class Reporter:
    """The reporting platform and the person NCMEC or the NCA may contact (configuration)."""

    org_name: str
    contact_first_name: str
    contact_last_name: str
    contact_email: str
    contact_phone: str | None = None
    url: str | None = None  # the platform's web address


@dataclass(frozen=True)
class IpCapture:
    """An IP address the account used, when and for what (login, upload, ...)."""

    ip: str
    at: datetime
    event: str = "Upload"  # the XSD's ipCaptureEvent eventName values: Login, Upload, ...
    port: int | None = None


@dataclass(frozen=True)
class DeviceId:
    id_type: str  # e.g. "IMEI", "advertising id"
    value: str


@dataclass(frozen=True)
class ReportedAccount:
    """The account the case is about, with what the platform told safeguard of it."""

    account_id: str
    screen_name: str | None = None
    display_name: str | None = None
    profile_url: str | None = None
    emails: tuple[str, ...] = ()
    ip_captures: tuple[IpCapture, ...] = ()
    device_ids: tuple[DeviceId, ...] = ()
    disabled_at: datetime | None = None  # when the platform disabled it (None: not)
    disabled_permanently: bool = False
    user_notified: bool | None = None  # whether the user was told (None: not known)
    connected_accounts: tuple[str, ...] = ()  # other accounts linked to it (NCA)


@dataclass(frozen=True)
class ReportFile:
    """One file of the report: its name, hashes, where it was posted and what is known."""

    name: str
    hashes: dict[str, str]  # signal type -> value: md5, sha256, pdq
    evidence_id: int | None = None  # preserved media to upload (None: hashes only)
    location: str | None = None  # where it was posted (URL or place on the platform)
    uploaded_at: datetime | None = None
    ip_capture: IpCapture | None = None
    detected_by: str = ""  # how it was found: "hash match in bank X (pdq, distance 4)"
    industry_classification: str | None = None  # A1, A2, B1, B2
    annotations: tuple[str, ...] = ()  # FILE_ANNOTATIONS
    viewed_by_platform: bool = False  # a person at the platform looked at it
    publicly_available: bool | None = None


@dataclass(frozen=True)
class Victim:
    """A child the case knows of (an account on the platform), never more than the case holds."""

    account_id: str
    screen_name: str | None = None
    age_band: str | None = None  # the account's age band as the platform gave it


@dataclass(frozen=True)
class ReportData:
    """Everything a referral carries. `missing_*` functions say what an agency still needs."""

    case_id: int
    incident_type: str
    incident_at: datetime
    reporter: Reporter
    account: ReportedAccount
    files: tuple[ReportFile, ...] = ()
    victims: tuple[Victim, ...] = ()
    annotations: tuple[str, ...] = ()  # REPORT_ANNOTATIONS
    prior_reports: tuple[str, ...] = ()  # CyberTipline report ids on the same account
    additional_info: str = ""
    web_page: str | None = None  # where the incident happened, when it is a page
    extra: dict[str, str] = field(default_factory=dict)
