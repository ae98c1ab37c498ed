"""Referrals as a person makes them: build a draft from a decided case, approve it, send it,
see what failed (docs/referrals.md).

Every step is a state change of one `referrals` row, in a transaction with its audit entry
(and, when it fails or finishes, a `referral` item on the case, so the case shows it):

    draft --approve--> approved --submit--> submitting --> submitted --> finished
                                              \\--> failed (how far it got is kept)

Sending a CyberTipline report is resumable: the report id the agency returns is stored
before any file is uploaded, each uploaded file's id before its details are sent, so sending
a `failed` or interrupted referral again continues the same report instead of making a
second one. A referral interrupted before the agency's report id was stored is not sent
again on its own (the agency may hold a report we cannot name): `submit(resubmit=True)` is
the person's decision, after checking with the agency. An NCA referral is finished when it
is approved and handed over (the record is final); the same content is never referred
twice to one agency (`referred_content`, unique per agency and content key).

Only child-safety specialists and admins may build, see, approve or send referrals.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.errors import AlreadyExists, Conflict, InvalidRequest, NotFound, SafeguardError
from safeguard.evidence import EvidenceStore
from safeguard.refer import cybertipline, nca
from safeguard.refer.client import AgencyError, CyberTiplineClient
from safeguard.refer.config import ReferralConfig
from safeguard.refer.gather import GatherOptions, data_from_json, data_to_json, gather
from safeguard.refer.model import ReportData
from safeguard.store import Database
from safeguard.store.models import utcnow
from safeguard.store.referral_tables import AGENCIES, Referral, ReferralFile, ReferredContent
from safeguard.store.review_tables import Case, CaseItem

log = logging.getLogger("safeguard.refer")

#: states from which `submit` (re)starts sending
_SENDABLE = ("approved", "failed", "submitting", "submitted")


@dataclass(frozen=True)
class ReferralInfo:
    id: int
    case_id: int
    agency: str
    state: str
    account_id: str
    report_id: str | None
    missing: list[str]
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    submitted_at: datetime | None
    finished_at: datetime | None
    attempts: int
    error_kind: str
    last_error: str
    files: list[dict[str, object]]

    @property
    def valid(self) -> bool:
        return not self.missing

    @classmethod
    def of(cls, row: Referral, files: list[ReferralFile]) -> ReferralInfo:
        return cls(
            id=row.id,
            case_id=row.case_id,
            agency=row.agency,
            state=row.state,
            account_id=row.account_id,
            report_id=row.report_id,
            missing=list(row.missing or []),
            created_by=row.created_by,
            created_at=row.created_at,
            approved_by=row.approved_by,
            approved_at=row.approved_at,
            submitted_at=row.submitted_at,
            finished_at=row.finished_at,
            attempts=row.attempts,
            error_kind=row.error_kind,
            last_error=row.last_error,
            files=[
                {
                    "name": f.name,
                    "evidence_id": f.evidence_id,
                    "sha256": f.sha256,
                    "file_id": f.file_id,
                    "described": f.described,
                }
                for f in files
            ],
        )

    def to_json(self) -> dict[str, object]:
        return {
            "referral_id": self.id,
            "case_id": self.case_id,
            "agency": self.agency,
            "state": self.state,
            "account_id": self.account_id,
            "report_id": self.report_id,
            "valid": self.valid,
            "missing": self.missing,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat() if self.approved_at else None,
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "attempts": self.attempts,
            "error_kind": self.error_kind or None,
            "last_error": self.last_error or None,
            "files": self.files,
        }


class ReferralService:
    """Referrals as `actor` may make them (a child-safety specialist or an admin)."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        config: ReferralConfig,
        evidence: EvidenceStore,
        client: Callable[[], CyberTiplineClient] | None = None,
    ) -> None:
        actor.require(actor.is_admin or actor.has("child_safety"), "make or see referrals")
        self.db = db
        self.actor = actor
        self.config = config
        self.evidence = evidence
        self._client = client or self._default_client

    def _default_client(self) -> CyberTiplineClient:
        user, password = self.config.ncmec_credentials()
        return CyberTiplineClient(self.config.ncmec_url, user, password)

    # -- build, look, approve --------------------------------------------------------------

    def build(
        self, case_id: int, agency: str, options: GatherOptions | None = None
    ) -> tuple[ReferralInfo, str]:
        """A draft referral of the case to `agency` (ncmec or nca), and what it would send
        (the CyberTipline XML, or the NCA record as JSON). `missing` lists what the report
        still lacks, by field; a draft with anything missing cannot be approved."""
        if agency not in AGENCIES:
            raise InvalidRequest(f"unknown agency {agency!r}: use {' or '.join(AGENCIES)}")
        evidence = self.evidence.list(case_id)
        with self.db.write_transaction() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise NotFound(f"no case {case_id} (see `safeguard cases list`)")
            if case.decision not in ("confirmed", "escalate"):
                raise InvalidRequest(
                    f"case {case_id} is {case.state}"
                    + (f" ({case.decision})" if case.decision else "")
                    + ": only a case decided confirmed or escalate can be referred"
                )
            data = gather(s, case_id, self.config.reporter, evidence, options or GatherOptions())
            payload, missing = _payload(agency, data, None)
            keys = _content_keys(agency, data)
            earlier = s.scalars(
                select(ReferredContent.referral_id).where(
                    ReferredContent.agency == agency, ReferredContent.content_key.in_(keys)
                )
            ).first()
            if earlier is not None:
                raise AlreadyExists(
                    f"this content was already referred to the {agency.upper()} "
                    f"(referral {earlier}); the same content is never referred twice"
                )
            row = Referral(
                case_id=case_id,
                agency=agency,
                state="draft",
                account_id=case.account_id,
                payload=payload,
                data=data_to_json(data),
                missing=missing,
                content_keys=keys,
                created_by=self.actor.name,
                created_at=utcnow(),
                attempts=0,
                error_kind="",
                last_error="",
                version=1,
            )
            s.add(row)
            s.flush()
            for n, f in enumerate(f for f in data.files if f.evidence_id is not None):
                s.add(
                    ReferralFile(
                        referral_id=row.id,
                        position=n,
                        name=f.name,
                        evidence_id=f.evidence_id,
                        sha256=f.hashes.get("sha256", ""),
                        described=False,
                    )
                )
            audit(
                s,
                self.actor.name,
                "referral.build",
                f"referral:{row.id}",
                case_id=case_id,
                agency=agency,
                missing=missing,
            )
            s.flush()
            return self._info(s, row), payload

    def get(self, referral_id: int) -> tuple[ReferralInfo, str]:
        """The referral and what it sends (audited: a view of child-safety case data)."""
        with self.db.write_transaction() as s:
            row = _row(s, referral_id)
            audit(s, self.actor.name, "referral.view", f"referral:{referral_id}")
            return self._info(s, row), row.payload

    def recommended(self, referral_id: int) -> builtins.list[str]:
        """What the referral could still carry where the platform knows it (fields the NCA's
        regulations ask for when available; the report can go without them)."""
        with self.db.transaction() as s:
            return nca.recommended_missing(data_from_json(_row(s, referral_id).data))

    def list(self, *, case_id: int | None = None, state: str | None = None) -> list[ReferralInfo]:
        with self.db.transaction() as s:
            q = select(Referral).order_by(Referral.id)
            if case_id is not None:
                q = q.where(Referral.case_id == case_id)
            if state is not None:
                q = q.where(Referral.state == state)
            return [self._info(s, r) for r in s.scalars(q)]

    def failed(self) -> builtins.list[ReferralInfo]:
        """Referrals whose last attempt failed (and those left interrupted by one)."""
        with self.db.transaction() as s:
            q = (
                select(Referral)
                .where(Referral.state.in_(("failed", "submitting")), Referral.error_kind != "")
                .order_by(Referral.id)
            )
            return [self._info(s, r) for r in s.scalars(q)]

    def approve(self, referral_id: int) -> ReferralInfo:
        """A person's approval: nothing is sent without it. For the NCA the approver's
        declaration goes into the record."""
        with self.db.write_transaction() as s:
            row = _row(s, referral_id, lock=True)
            if row.state != "draft":
                raise Conflict(f"referral {referral_id} is {row.state}, not a draft")
            if row.missing:
                raise InvalidRequest(
                    f"referral {referral_id} cannot be approved: it lacks " + ", ".join(row.missing)
                )
            now = utcnow()
            if row.agency == "nca":
                declaration = nca.Declaration(
                    made_by=self.actor.user or self.actor.name,
                    role=",".join(sorted(self.actor.roles)) or "service",
                    at=now,
                )
                row.payload, row.missing = _payload("nca", data_from_json(row.data), declaration)
            row.state, row.approved_by, row.approved_at = "approved", self.actor.name, now
            row.version += 1
            audit(s, self.actor.name, "referral.approve", f"referral:{referral_id}")
            return self._info(s, row)

    # -- send ------------------------------------------------------------------------------

    def submit(self, referral_id: int, *, resubmit: bool = False) -> ReferralInfo:
        """Send an approved referral, or continue one that failed or was interrupted."""
        with self.db.write_transaction() as s:
            row = _row(s, referral_id, lock=True)
            if row.state not in _SENDABLE:
                if row.state == "draft":
                    raise InvalidRequest(
                        f"referral {referral_id} is a draft: a child-safety specialist "
                        "approves it first (`safeguard referrals approve`)"
                    )
                raise Conflict(f"referral {referral_id} is {row.state}: nothing to send")
            if row.state == "submitting" and row.report_id is None and not resubmit:
                raise Conflict(
                    f"referral {referral_id} was interrupted while its report was being "
                    f"submitted: the {row.agency.upper()} may hold it. Check with the agency, "
                    "then send again with --resubmit"
                )
            agency, report_id = row.agency, row.report_id
            self._claim_keys(s, row)
            row.attempts += 1
            row.state = "submitting" if report_id is None else "submitted"
            row.version += 1
        if agency == "nca":
            return self._finish(referral_id, None)
        try:
            return self._send_ncmec(referral_id, report_id)
        except AgencyError as e:
            # a refusal, or a request that never left: no report was made
            return self._fail(
                referral_id, e.kind, e.message, unsent=e.kind in _NOT_SENT or e.retryable
            )
        except SafeguardError as e:
            return self._fail(referral_id, e.code, e.message, unsent=True)

    def _send_ncmec(self, referral_id: int, report_id: str | None) -> ReferralInfo:
        with self.db.transaction() as s:
            row = _row(s, referral_id)
            payload, data = row.payload.encode(), data_from_json(row.data)
            files = list(
                s.scalars(
                    select(ReferralFile)
                    .where(ReferralFile.referral_id == referral_id)
                    .order_by(ReferralFile.position)
                )
            )
            by_evidence = {f.evidence_id: f for f in data.files if f.evidence_id is not None}
        with self._client() as client:
            if report_id is None:
                report_id = client.submit(payload)
                with self.db.write_transaction() as s:
                    row = _row(s, referral_id, lock=True)
                    row.report_id, row.state, row.submitted_at = report_id, "submitted", utcnow()
                    audit(
                        s,
                        self.actor.name,
                        "referral.submit",
                        f"referral:{referral_id}",
                        report_id=report_id,
                    )
            for f in files:
                if f.file_id is None:
                    data_bytes = self.evidence.read(f.evidence_id, purpose="referral")
                    file_id, _md5 = client.upload(report_id, f.name, data_bytes)
                    self._update_file(f.id, file_id=file_id)
                    f.file_id = file_id
                if not f.described:
                    details = cybertipline.file_details_xml(
                        report_id, f.file_id, by_evidence[f.evidence_id]
                    )
                    client.file_info(details)
                    self._update_file(f.id, described=True)
            try:
                client.finish(report_id)
            except AgencyError as e:
                if e.kind != "finished":  # a retried finish whose first answer was lost
                    raise
        return self._finish(referral_id, report_id)

    def _update_file(self, file_row: int, **values: object) -> None:
        with self.db.write_transaction() as s:
            s.execute(update(ReferralFile).where(ReferralFile.id == file_row).values(**values))

    def _finish(self, referral_id: int, report_id: str | None) -> ReferralInfo:
        now = utcnow()
        with self.db.write_transaction() as s:
            row = _row(s, referral_id, lock=True)
            row.state, row.finished_at, row.error_kind, row.last_error = "finished", now, "", ""
            row.submitted_at = row.submitted_at or now
            row.version += 1
            case = s.get(Case, row.case_id, with_for_update=True)
            if case is not None and case.state == "decided":
                case.state, case.updated_at, case.version = "referred", now, case.version + 1
            _case_item(s, row, f"referred to the {row.agency.upper()}")
            audit(
                s,
                self.actor.name,
                "referral.finish",
                f"referral:{referral_id}",
                agency=row.agency,
                report_id=report_id,
            )
            info = self._info(s, row)
        # the report starts the retention clock of the evidence it covers
        self.evidence.start_clock(info.case_id, f"{info.agency}_report", now)
        return info

    def _fail(self, referral_id: int, kind: str, message: str, *, unsent: bool) -> ReferralInfo:
        log.error("referral %s failed (%s): %s", referral_id, kind, message)
        with self.db.write_transaction() as s:
            row = _row(s, referral_id, lock=True)
            # a submit that may have reached the agency without its answer reaching us stays
            # `submitting` (see the module doc); anything else is `failed`, to send again
            maybe_sent = row.state == "submitting" and row.report_id is None and not unsent
            row.state = "submitting" if maybe_sent else "failed"
            row.error_kind, row.last_error = kind, message
            row.version += 1
            _case_item(s, row, f"referral to the {row.agency.upper()} failed: {message}")
            audit(
                s,
                self.actor.name,
                "referral.fail",
                f"referral:{referral_id}",
                kind=kind,
                error=message,
            )
            return self._info(s, row)

    def _claim_keys(self, s: Session, row: Referral) -> None:
        """Mark the referral's content as referred to its agency (refused when another
        referral already sent it)."""
        have = set(
            s.scalars(
                select(ReferredContent.content_key).where(ReferredContent.referral_id == row.id)
            )
        )
        for key in row.content_keys:
            if key in have:
                continue
            try:
                with s.begin_nested():
                    s.add(ReferredContent(agency=row.agency, content_key=key, referral_id=row.id))
            except IntegrityError:
                raise AlreadyExists(
                    f"this content was already referred to the {row.agency.upper()} "
                    "by another referral; the same content is never referred twice"
                ) from None

    def _info(self, s: Session, row: Referral) -> ReferralInfo:
        files = list(
            s.scalars(
                select(ReferralFile)
                .where(ReferralFile.referral_id == row.id)
                .order_by(ReferralFile.position)
            )
        )
        return ReferralInfo.of(row, files)


#: agency answers that mean no report was made (safe to send again)
_NOT_SENT = ("auth", "validation")


def referral_counts(db: Database) -> dict[tuple[str, str], int]:
    """Referrals by (agency, state), for metrics."""
    with db.transaction() as s:
        rows = s.execute(
            select(Referral.agency, Referral.state, func.count()).group_by(
                Referral.agency, Referral.state
            )
        ).all()
    return {(a, st): int(n) for a, st, n in rows}


def _row(s: Session, referral_id: int, *, lock: bool = False) -> Referral:
    q = select(Referral).where(Referral.id == referral_id)
    row = s.scalars(q.with_for_update() if lock else q).first()
    if row is None:
        raise NotFound(f"no referral {referral_id} (see `safeguard referrals list`)")
    return row


def _payload(
    agency: str, data: ReportData, declaration: nca.Declaration | None
) -> tuple[str, list[str]]:
    """What is sent and what it still lacks."""
    if agency == "ncmec":
        xml = cybertipline.report_xml(data)
        problems = [f"schema: {p}" for p in cybertipline.validate(xml)]
        return xml.decode(), cybertipline.missing(data) + problems
    pending = declaration or nca.Declaration(made_by="(on approval)", role="", at=utcnow())
    record = nca.nca_record(data, pending)
    missing = [m for m in nca.missing(data, declaration) if m != "declaration"]
    return json.dumps(record, indent=2, default=str), missing


def _content_keys(agency: str, data: ReportData) -> list[str]:
    keys = nca.content_keys(data)
    if agency == "ncmec":
        # follow-up CyberTipline reports on one account are expected (priorCTReports):
        # only files make content the same
        keys = [k for k in keys if not k.startswith("account:")]
    return keys


def _case_item(s: Session, row: Referral, note: str) -> None:
    s.add(
        CaseItem(
            case_id=row.case_id,
            kind="referral",
            at=utcnow(),
            detail={
                "referral_id": row.id,
                "agency": row.agency,
                "state": row.state,
                "report_id": row.report_id,
                "error": row.last_error or None,
                "note": note,
            },
        )
    )
