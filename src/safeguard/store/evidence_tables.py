"""Table of preserved evidence (issue #15). Created by migration 0011.

Media is kept only where a platform chose to preserve it for a case; the bytes live in an
encrypted file (AES-GCM) outside the database, this row says which key, until when it must
be kept (`retain_until`, None while no clock runs), whether a legal hold stops the clock,
and when and why it was deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, BigId, UTCDateTime, utcnow


class EvidenceItem(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, index=True)
    # SHA-256 of the plaintext, so a file can be checked after decryption
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(500), default="")
    # the file holding nonce + ciphertext, relative to the evidence directory
    path: Mapped[str] = mapped_column(String(500))
    key_id: Mapped[str] = mapped_column(String(64))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stored_by: Mapped[str] = mapped_column(String(200), default="")
    # what started the clock ("ncmec_report", "nca_report", "decision") and until when
    clock_reason: Mapped[str | None] = mapped_column(String(50), nullable=True)
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_reason: Mapped[str] = mapped_column(Text, default="")
