"""Tables of referrals (issue #16): reports of cases to NCMEC's CyberTipline and the UK
National Crime Agency, the files each sends, and the content already referred to each agency
(so the same content is never referred twice to one agency). Created by migration 0013.

A referral moves draft -> approved -> submitting -> submitted -> finished (NCMEC), or
draft -> approved -> finished (NCA: the record is final and handed over); `failed` keeps
how far it got (the agency's report id, the files already uploaded) so that sending again
resumes the same report; `retracted` ends it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, BigId, UTCDateTime, utcnow

AGENCIES = ("ncmec", "nca")
REFERRAL_STATES = (
    "draft",
    "approved",
    "submitting",
    "submitted",
    "finished",
    "failed",
    "retracted",
)


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_case", "case_id", "agency"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    agency: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), index=True)
    account_id: Mapped[str] = mapped_column(String(200), index=True)
    # the agency's id of the report (CyberTipline report id), once it gave one
    report_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # what is sent: the CyberTipline XML or the NCA record (JSON), as built and approved
    payload: Mapped[str] = mapped_column(Text)
    # the gathered report data (refer/model.py as JSON), what it lacks, its content keys
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_kind: Mapped[str] = mapped_column(String(30), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)


class ReferralFile(Base):
    """A file a referral sends: which evidence item, and how far its upload got."""

    __tablename__ = "referral_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    evidence_id: Mapped[int] = mapped_column(BigId)
    sha256: Mapped[str] = mapped_column(String(64))
    # the agency's file id once uploaded, and whether its details (fileinfo) were sent
    file_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    described: Mapped[bool] = mapped_column(default=False)


class ReferredContent(Base):
    """Content referred to an agency: one row per (agency, content key), unique, written
    in the transaction that sends it."""

    __tablename__ = "referred_content"
    __table_args__ = (Index("ix_referred_content_key", "agency", "content_key", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agency: Mapped[str] = mapped_column(String(10))
    content_key: Mapped[str] = mapped_column(String(200))
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
