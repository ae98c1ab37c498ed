"""Database tables: banks, their content, the signals of that content, and the change log.

Bank and content ids are integers that never change and are never reused (on SQLite too:
AUTOINCREMENT, migration 0016). Every change to banks or content is recorded in
`change_log` in the same transaction (see safeguard.banks.service): it is the audit trail,
append-only (enforced by triggers), and the feed later index replicas follow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Bank(Base):
    __tablename__ = "banks"
    # ids are never used twice, on SQLite too (migration 0016)
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # the distance thresholds this bank sets, by signal type ({"pdq": 31}); a type not named
    # here uses its default (SignalType.default_threshold)
    thresholds: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    negative: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # share of lookups this bank takes part in (gradual roll-out, as HMA's enabled_ratio)
    match_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    # look up queries' rotations and flips, and the picture inside a border (docs/evaluation.md)
    dihedral: Mapped[bool] = mapped_column(Boolean, default=True)
    trim_borders: Mapped[bool] = mapped_column(Boolean, default=True)
    # keep images' local features and match crops with them (signals/local.py)
    local_features: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Content(Base):
    """One item in a bank: a file or a listed hash, with where it came from."""

    __tablename__ = "bank_content"
    __table_args__ = (
        UniqueConstraint("bank_id", "dedupe_key", name="uq_content_dedupe"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    # what makes two additions "the same": sha256 of a file, or type:value of a listed hash
    dedupe_key: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500), default="")
    external_id: Mapped[str | None] = mapped_column(String(500), nullable=True, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200), default="")
    # set while a moderator has switched this item off (it does not match until then)
    disabled_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ContentSignal(Base):
    """One signal value (a PDQ hash, an MD5...) of one content item."""

    __tablename__ = "content_signals"
    __table_args__ = (
        UniqueConstraint("content_id", "signal_type", name="uq_signal_per_content"),
        Index("ix_signal_lookup", "signal_type", "signal_value"),
        Index("ix_signal_bank", "bank_id", "signal_type", "signal_value"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("bank_content.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(50))
    signal_value: Mapped[str] = mapped_column(String(200))
    quality: Mapped[int | None] = mapped_column(Integer, nullable=True)


#: the longest value `content_signals` holds in place (its column and indexes); a longer one
#: (a video's vPDQ: a line per second of video) is kept whole in `content_values`, and its
#: place holds `sha256:<hex>` of it, which lookups by value compare instead
MAX_INLINE_VALUE = 200


def stored_value(value: str) -> str:
    """What `content_signals.signal_value` holds for `value` (see MAX_INLINE_VALUE)."""
    if len(value) <= MAX_INLINE_VALUE:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


class ContentValue(Base):
    """The whole value of a signal too long to keep in `content_signals` (migration 0017)."""

    __tablename__ = "content_values"

    signal_id: Mapped[int] = mapped_column(
        ForeignKey("content_signals.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(Text)


def signal_rows():
    """(id, content id, bank id, signal type, whole value) of content signals: the place of
    a long value filled from `content_values`. Add joins and conditions as to any select."""
    return (
        select(
            ContentSignal.id,
            ContentSignal.content_id,
            ContentSignal.bank_id,
            ContentSignal.signal_type,
            func.coalesce(ContentValue.value, ContentSignal.signal_value).label("signal_value"),
        )
        .select_from(ContentSignal)
        .outerjoin(ContentValue, ContentValue.signal_id == ContentSignal.id)
    )


def add_long_values(s: Session, rows: Iterable[tuple[int, str, str]]) -> None:
    """Keep the whole values of (content id, signal type, value) rows just inserted whose
    value was too long for `content_signals`, in the caller's transaction."""
    long = [(cid, t, v) for cid, t, v in rows if len(v) > MAX_INLINE_VALUE]
    if not long:
        return
    wanted = {(cid, t): v for cid, t, v in long}
    found = s.execute(
        select(ContentSignal.id, ContentSignal.content_id, ContentSignal.signal_type).where(
            ContentSignal.content_id.in_(sorted({cid for cid, _, _ in long}))
        )
    ).all()
    s.execute(
        insert(ContentValue),
        [
            {"signal_id": sid, "value": wanted[(cid, t)]}
            for sid, cid, t in found
            if (cid, t) in wanted
        ],
    )


class ContentFeatures(Base):
    """The local features (ORB keypoints and descriptors, about 12 KB) of one content item
    added from an image, kept apart from `content_signals` because they are looked up by
    geometry in memory, never by value in the database."""

    __tablename__ = "content_features"

    content_id: Mapped[int] = mapped_column(
        ForeignKey("bank_content.id", ondelete="CASCADE"), primary_key=True
    )
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(Text)


class Change(Base):
    """Append-only record of a state change: who did what, to which bank or content, when."""

    __tablename__ = "change_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    bank_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    bank_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    content_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class ApiKey(Base):
    """An HTTP API key: only a SHA-256 of the secret is stored; revoked keys are kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # the public part of the key, shown in listings and used to find the row
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # requests per minute; None means the server's default
    rate_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the user (safeguard.access.people) this key acts for: its roles decide what it may
    # see of cases and the audit log; None for a service key
    user_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
