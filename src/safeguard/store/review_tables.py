"""Tables of the act-and-review loop (issue #15): people, submitted events and their
verdicts, account-centred cases and what they gather, the watch list, and bank entries
paused by flood quarantine. Created by migration 0008.

A case is about one account: at most one case per account is active (state `open` or
`in_review`) at a time, enforced by a partial unique index; `version` is bumped by every
change so that two decisions on one case cannot both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from safeguard.store.models import Base, BigId, UTCDateTime, utcnow

#: case states in which a case still gathers what happens to its account
ACTIVE_CASE_STATES = ("open", "in_review")
#: the account id of the review case of a bank entry paused by flood quarantine
ENTRY_ACCOUNT = "bank-entry:"


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, the same on SQLite and PostgreSQL."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class User(Base):
    """A person who reviews, decides or audits: a name, roles, and (for the web UI) an
    argon2 password hash and an optional TOTP secret. Disabled, never deleted."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the web UI: settings of one's own (blur strength) and the lock after failed logins
    preferences: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Event(Base):
    """One thing a platform told us about (an upload, a user report, a pathways flag) and
    the verdict it got. `external_id` (the platform's own id, optional) makes a resubmitted
    event answer with its first verdict instead of counting twice."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_account", "account_id", "received_at"),
        # only events with a platform id (most have none): fewer pages written per event
        Index(
            "ix_events_external", "external_id", unique=True, **_where("external_id IS NOT NULL")
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    account_id: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by: Mapped[str] = mapped_column(String(200), default="")
    verdict: Mapped[str] = mapped_column(String(10))
    # names of the live rules that fired
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    case_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    # what the event said and what was found: where it was posted, the media's signals (never
    # the media), matches, the report's reason, the flag's score and reasons
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class Case(Base):
    """Everything known about one account that needs a person's decision."""

    __tablename__ = "cases"
    __table_args__ = (
        Index(
            "uq_cases_active_account",
            "account_id",
            unique=True,
            **_where("state IN ('open', 'in_review')"),
        ),
        Index("ix_cases_queue", "state", "priority", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200))
    # open, in_review, decided, referred, closed
    state: Mapped[str] = mapped_column(String(20), default="open")
    # 0 (low) .. 3 (urgent)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    # child-safety cases are seen only by child-safety specialists and admins
    child_safety: Mapped[bool] = mapped_column(Boolean, default=True)
    # why it was opened (the rule's name, or "manual")
    reason: Mapped[str] = mapped_column(String(200), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # confirmed, not_abuse, escalate
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)


class CaseItem(Base):
    """One thing a case gathers: a match, a report, a pathways flag, a decision's note."""

    __tablename__ = "case_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # for matches: the bank entry, how close, through which signal and variant
    bank_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    content_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    signal_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the media's signals ({"pdq": ..., "md5": ...}), its reference on the platform, the
    # report's reason, the flag's score and reason codes
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


def case_is_active() -> ColumnElement[bool]:
    """`cases.state IN ('open', 'in_review')` with the states written into the SQL, as in
    the partial index `uq_cases_active_account`. With the states as bound parameters
    neither SQLite nor a generic PostgreSQL plan can tell that the index covers the query,
    and finding an account's active case scans every active case instead (on SQLite it
    took most of the time of writing a matched event once a few thousand cases were open)."""
    return Case.state.in_([literal_column(f"'{state}'") for state in ACTIVE_CASE_STATES])


class WatchlistEntry(Base):
    """An account a rule (or a person) asked to watch."""

    __tablename__ = "watchlist"

    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200), default="")


class QuarantinedEntry(Base):
    """A bank entry paused by flood quarantine: it matched far more than its history, so
    its matches hold (never block) until a reviewer releases it."""

    __tablename__ = "quarantined_entries"

    content_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_name: Mapped[str] = mapped_column(String(100))
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
