"""Tables of the outbox and webhooks (issue #15). Created by migration 0010.

A verdict or a decision that must reach the platform is written as an `outbox` row in the
same transaction as the verdict or decision itself, so a crash between "decided" and "told
the platform" loses nothing; `safeguard worker` delivers the rows. Each row has an
idempotency key the receiver sees on every attempt, so a redelivery after a crash is
recognised, never acted on twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, BigId, UTCDateTime, utcnow


class WebhookEndpoint(Base):
    """Where the platform wants to be told, the secret its messages are signed with, and
    which topics ("verdict", "decision", ...) it wants."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")


class OutboxJob(Base):
    """One message to deliver (to one endpoint), and where its delivery has got to."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(50))
    endpoint: Mapped[str | None] = mapped_column(String(100), nullable=True)
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # "<the caller's key>:<endpoint name>": at most 190 + 1 + 100 characters
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    # pending, delivering, delivered, failed
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # a worker that claimed the job holds it until then; past it, another may take it
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
