"""What a referral says, gathered from a case: the account (with what the platform sent in
its events' "account" objects), the files its matches found (and the evidence kept of them),
reports and pathways flags, earlier CyberTipline reports on the same account. Also the
report data to and from JSON (kept with the referral, so sending resumes from it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.errors import InvalidRequest, NotFound
from safeguard.evidence.periods import aware
from safeguard.evidence.records import EvidenceInfo
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
from safeguard.store.referral_tables import Referral
from safeguard.store.review_tables import Case, CaseItem, Event

#: the hashes a report carries, in the order they identify a file
FILE_HASHES = ("sha256", "md5", "pdq")


@dataclass(frozen=True)
class GatherOptions:
    """What a person adds when building a referral (the case cannot know it)."""

    incident_type: str | None = None
    annotations: tuple[str, ...] = ()
    victims: tuple[str, ...] = ()  # account ids
    additional_info: str = ""
    account: dict[str, object] = dataclasses.field(default_factory=dict)  # as an event's
    industry_classification: str | None = None  # for every file
    file_annotations: tuple[str, ...] = ()


def gather(
    s: Session,
    case_id: int,
    reporter: Reporter,
    evidence: Sequence[EvidenceInfo],
    options: GatherOptions,
) -> ReportData:
    case = s.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id} (see `safeguard cases list`)")
    items = list(
        s.scalars(select(CaseItem).where(CaseItem.case_id == case_id).order_by(CaseItem.id))
    )
    events = {
        e.id: e for e in s.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id))
    }
    account, captures = _account(case.account_id, events.values(), options.account)
    files = _files(items, events, evidence, options, viewed=case.decision == "confirmed")
    matched = any(i.kind == "match" for i in items)
    prior = s.scalars(
        select(Referral.report_id)
        .where(
            Referral.account_id == case.account_id,
            Referral.agency == "ncmec",
            Referral.report_id.is_not(None),
            Referral.case_id != case_id,
            Referral.state.in_(("submitted", "finished")),
        )
        .order_by(Referral.id)
    )
    first = min((i.at for i in items), default=case.opened_at)
    return ReportData(
        case_id=case_id,
        incident_type=options.incident_type
        or (CHILD_PORNOGRAPHY if matched else ONLINE_ENTICEMENT),
        incident_at=aware(first),
        reporter=reporter,
        account=dataclasses.replace(account, ip_captures=tuple(captures)),
        files=tuple(files),
        victims=tuple(Victim(v) for v in options.victims),
        annotations=options.annotations,
        prior_reports=tuple(p for p in prior if p),
        additional_info=_additional(items, options.additional_info),
        web_page=next((str(i.detail.get("where")) for i in items if i.detail.get("where")), None),
    )


def _account(
    account_id: str, events: Iterable[Event], given: dict[str, object]
) -> tuple[ReportedAccount, list[IpCapture]]:
    """The account as the events described it (later events win), then as a person gave."""
    merged: dict[str, object] = {}
    captures = []
    for e in events:
        told = _told(e)
        if told.get("ip"):
            name = "Upload" if e.kind == "upload" else "Other"
            port = told.get("port")
            captures.append(
                IpCapture(str(told["ip"]), aware(e.received_at), name, int(port) if port else None)
            )
        merged.update({k: v for k, v in told.items() if k not in ("ip", "port")})
    merged.update(given)
    if given.get("ip"):
        captures.append(
            IpCapture(str(given["ip"]), aware(datetime.now().astimezone()), "Other", None)
        )
    devices = []
    for d in merged.get("device_ids") or []:  # type: ignore[attr-defined]
        if not isinstance(d, dict) or not d.get("value"):
            raise InvalidRequest('account "device_ids" entries are {"type": ..., "value": ...}')
        devices.append(DeviceId(str(d.get("type") or "unknown"), str(d["value"])))
    disabled = merged.get("disabled_at")
    try:
        disabled_at = aware(datetime.fromisoformat(str(disabled))) if disabled else None
    except ValueError:
        raise InvalidRequest(f"account disabled_at {disabled!r} is not an ISO 8601 time") from None
    notified = merged.get("user_notified")
    return (
        ReportedAccount(
            account_id=account_id,
            screen_name=_str(merged.get("screen_name")),
            display_name=_str(merged.get("display_name")),
            profile_url=_str(merged.get("profile_url")),
            emails=tuple(str(m) for m in merged.get("emails") or []),  # type: ignore[attr-defined]
            device_ids=tuple(devices),
            disabled_at=disabled_at,
            disabled_permanently=bool(merged.get("disabled_permanently")),
            user_notified=None if notified is None else bool(notified),
            connected_accounts=tuple(
                str(a)
                for a in merged.get("connected_accounts") or []  # type: ignore[attr-defined]
            ),
        ),
        captures,
    )


def _files(
    items: Sequence[CaseItem],
    events: dict[int, Event],
    evidence: Sequence[EvidenceInfo],
    options: GatherOptions,
    *,
    viewed: bool,
) -> list[ReportFile]:
    """One file per distinct media the case's matches found, with the evidence kept of it;
    then kept evidence no match names."""
    kept = {e.sha256: e for e in evidence if e.deleted_at is None}
    files: dict[str, ReportFile] = {}
    for i in items:
        if i.kind != "match":
            continue
        signals = dict(i.detail.get("signals") or {})  # type: ignore[call-overload]
        hashes = {t: str(signals[t]) for t in FILE_HASHES if signals.get(t)}
        key = next((f"{t}:{hashes[t]}" for t in FILE_HASHES if t in hashes), f"item:{i.id}")
        if key in files:
            continue
        event = events.get(i.event_id) if i.event_id else None
        told = _told(event) if event else {}
        port = told.get("port")
        capture = (
            IpCapture(str(told["ip"]), aware(i.at), "Upload", int(port) if port else None)
            if told.get("ip")
            else None
        )
        found = kept.pop(hashes["sha256"], None) if "sha256" in hashes else None
        files[key] = ReportFile(
            name=str(i.detail.get("media_ref") or (found.name if found else f"case-item-{i.id}")),
            hashes=hashes,
            evidence_id=found.id if found else None,
            location=_str(i.detail.get("where")),
            uploaded_at=aware(i.at),
            ip_capture=capture,
            detected_by=(
                f"hash match in bank {i.bank_name} ({i.signal_type}, distance {i.distance})"
            ),
            industry_classification=options.industry_classification,
            annotations=options.file_annotations,
            viewed_by_platform=viewed,
        )
    for e in kept.values():
        files[f"sha256:{e.sha256}"] = ReportFile(
            name=e.name,
            hashes={"sha256": e.sha256},
            evidence_id=e.id,
            uploaded_at=aware(e.stored_at),
            detected_by="kept as evidence of the case",
            industry_classification=options.industry_classification,
            annotations=options.file_annotations,
            viewed_by_platform=viewed,
        )
    return list(files.values())


def _additional(items: Sequence[CaseItem], given: str) -> str:
    lines = [given] if given else []
    for i in items:
        if i.kind == "pathways_flag":
            reasons = ", ".join(str(r) for r in i.detail.get("reasons") or [])  # type: ignore[attr-defined]
            lines.append(
                f"Behavioural risk flag at {aware(i.at).isoformat()}: score "
                f"{i.detail.get('score')}, reasons: {reasons or 'none given'}"
            )
        elif i.kind == "report":
            reason = i.detail.get("reason") or "no reason given"
            lines.append(f"User report at {aware(i.at).isoformat()}: {reason}")
    return "\n".join(lines)


def _told(e: Event) -> dict[str, Any]:
    """The "account" object the event came with (what the platform said of the account)."""
    given: Any = (e.detail or {}).get("event") or {}
    return dict(given.get("account") or {})


def _str(v: object) -> str | None:
    return str(v) if v not in (None, "") else None


# -- to and from JSON ------------------------------------------------------------------------


def data_to_json(data: ReportData) -> dict[str, object]:
    return _plain(dataclasses.asdict(data))  # type: ignore[return-value]


def _plain(v: object) -> object:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def data_from_json(d: dict[str, Any]) -> ReportData:
    def when(v: object) -> datetime | None:
        return datetime.fromisoformat(str(v)) if v else None

    def capture(c: dict[str, Any] | None) -> IpCapture | None:
        return None if not c else IpCapture(c["ip"], when(c["at"]), c["event"], c["port"])  # type: ignore[arg-type]

    a = d["account"]
    account = ReportedAccount(
        **{
            **a,
            "emails": tuple(a["emails"]),
            "ip_captures": tuple(capture(c) for c in a["ip_captures"]),
            "device_ids": tuple(DeviceId(**x) for x in a["device_ids"]),
            "disabled_at": when(a["disabled_at"]),
            "connected_accounts": tuple(a["connected_accounts"]),
        }
    )
    files = tuple(
        ReportFile(
            **{
                **f,
                "uploaded_at": when(f["uploaded_at"]),
                "ip_capture": capture(f["ip_capture"]),
                "annotations": tuple(f["annotations"]),
            }
        )
        for f in d["files"]
    )
    return ReportData(
        case_id=d["case_id"],
        incident_type=d["incident_type"],
        incident_at=when(d["incident_at"]),  # type: ignore[arg-type]
        reporter=Reporter(**d["reporter"]),
        account=account,
        files=files,
        victims=tuple(Victim(**v) for v in d["victims"]),
        annotations=tuple(d["annotations"]),
        prior_reports=tuple(d["prior_reports"]),
        additional_info=d["additional_info"],
        web_page=d["web_page"],
        extra=dict(d["extra"]),
    )
