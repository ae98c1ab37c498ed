"""Tables of the tamper-evident audit log (issue #15). Created by migration 0009.

`audit_log` is append-only (database triggers refuse UPDATE and DELETE). Each row carries
its position `seq` (1, 2, 3... with no gaps) and `hash` = SHA-256 over the previous row's
hash and this row's canonical content, so an edited, deleted or reordered row breaks the
chain. `audit_checkpoints` holds the chain head signed with an Ed25519 key kept outside the
database, so a truncated tail is detected too (safeguard.audit).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, BigId, UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    # one subject's history ("case:12"), in order
    __table_args__ = (Index("ix_audit_log_subject", "subject", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    # what it was about: "case:12", "bank:known-images", "rules:3", "user:alice"
    subject: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_seq", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    # hex Ed25519 signature over "safeguard-audit:<seq>:<head_hash>"
    signature: Mapped[str] = mapped_column(String(128))
    # first 16 hex of the SHA-256 of the public key that signed it
    key_id: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
