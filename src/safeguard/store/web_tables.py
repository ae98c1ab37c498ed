"""Tables of the web UI's library parts (issue #17): moderators' login sessions and bank
imports run from the browser, whose progress any server process can report.

A session row holds the SHA-256 of its cookie's token, never the token; `revealed` is the
one evidence item the session has asked to see unblurred (one at a time, docs/ui.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, BigId, UTCDateTime, utcnow


class UiSession(Base):
    __tablename__ = "ui_sessions"
    __table_args__ = (Index("ix_ui_sessions_user", "user_name"),)

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revealed: Mapped[int | None] = mapped_column(BigId, nullable=True)
    client: Mapped[str] = mapped_column(String(200), default="")


class BankImport(Base):
    """A list imported into a bank in the background: its progress and outcome."""

    __tablename__ = "bank_imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_name: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(500), default="")
    fmt: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="running")  # running|done|failed
    total: Mapped[int] = mapped_column(BigInteger, default=0)  # items in the list
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    started_by: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
