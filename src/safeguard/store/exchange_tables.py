"""Tables of the exchange between platforms (issue #19). Created by migration 0015.

Publisher side: `exchange_feeds` (a bank published as a feed, with where its builder has
got to in the change log), `exchange_feed_entries` (the append-only, signed, hash-chained
entries: one per item added to or removed from the bank), `exchange_feed_items` (the items
a feed holds now) and `exchange_opinions` (what subscribers said about each item).

Subscriber side: `exchange_sources` (a peer's feed this instance follows, the bank it
fills, the publisher's pinned key and how far it has read), `exchange_received` (which of
the publisher's items became which local content) and `exchange_my_opinions` (this
instance's opinions on received items, and whether the publisher has been told).

Private account checks: `exchange_identifiers` holds the lists of account identifiers
(emails, phone numbers, handles) a publisher lets peers check privately, as SHA-256 digests
only (safeguard.exchange.psi).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, BigId, UTCDateTime, utcnow


class FeedRow(Base):
    """A bank published as a feed: its chain head and its position in the change log."""

    __tablename__ = "exchange_feeds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    bank_id: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text, default="")
    head_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default="")
    # the change log read so far (matching.feed.ChangeFeed's saved state)
    change_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    change_gaps: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")


class FeedEntryRow(Base):
    """One signed entry: `op` "add" (with the item's signals) or "remove"."""

    __tablename__ = "exchange_feed_entries"
    __table_args__ = (UniqueConstraint("feed_id", "seq", name="uq_feed_entry_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("exchange_feeds.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    op: Mapped[str] = mapped_column(String(10))
    item: Mapped[int] = mapped_column(BigInteger)
    signals: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    provenance: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    at: Mapped[str] = mapped_column(String(40))
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))


class FeedItemRow(Base):
    """An item a feed holds now (added and not removed), with the entry that added it."""

    __tablename__ = "exchange_feed_items"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_feeds.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class OpinionRow(Base):
    """A subscriber's latest opinion on one item of a feed (publisher side)."""

    __tablename__ = "exchange_opinions"
    __table_args__ = (UniqueConstraint("feed_id", "item", "peer", name="uq_opinion_per_peer"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("exchange_feeds.id", ondelete="CASCADE"))
    item: Mapped[int] = mapped_column(BigInteger)
    peer: Mapped[str] = mapped_column(String(200))
    opinion: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SourceRow(Base):
    """A list this instance follows (subscriber side): a peer's feed (`kind` "peer"), or a
    hash-sharing service through python-threatexchange (`kind` "api": NCMEC, StopNCII,
    ThreatExchange, a local file)."""

    __tablename__ = "exchange_sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="peer")
    # a peer's base address; for an API, a replacement for its built-in address ("": none)
    url: Mapped[str] = mapped_column(String(2000))
    feed: Mapped[str] = mapped_column(String(100))  # peers only
    # the publisher's Ed25519 public key (raw, hex), pinned when subscribing (peers only)
    public_key: Mapped[str] = mapped_column(String(64))
    # where the API key (or an API's credentials) is read: "env:NAME" or "file:/path"
    credential: Mapped[str] = mapped_column(String(500))
    # APIs only: which (threatexchange's name), its collaboration settings, its checkpoint
    api: Mapped[str] = mapped_column(String(50), default="")
    config: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    checkpoint: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    bank_name: Mapped[str] = mapped_column(String(100))
    # trust: whether matches from this source may block (else at most hold)
    may_block: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default="")
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")


class ReceivedRow(Base):
    """Which local content one of the publisher's items became (`created`: by this source,
    so removing the item may remove it)."""

    __tablename__ = "exchange_received"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_sources.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    content_id: Mapped[int] = mapped_column(BigInteger, index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiReceivedRow(Base):
    """Which local content one record of a hash-sharing API became (its key: NCMEC's
    `member-entry` id, or `type:value` for lists keyed by signal)."""

    __tablename__ = "exchange_api_received"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_sources.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    content_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created: Mapped[bool] = mapped_column(Boolean, default=True)


class MyOpinionRow(Base):
    """This instance's opinion on a received item; `sent_at` once the publisher has it."""

    __tablename__ = "exchange_my_opinions"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_sources.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    opinion: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IdentifierRow(Base):
    """One identifier of an account on a list peers may check privately: its digest only."""

    __tablename__ = "exchange_identifiers"
    __table_args__ = (UniqueConstraint("list_name", "digest", name="uq_identifier_per_list"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200), default="")
