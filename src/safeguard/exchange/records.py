"""Plain records the exchange API takes and returns: feeds, entries, opinions, sources."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

#: what a subscriber may say about an entry
OPINIONS = ("confirmed", "disputed", "false_positive")


@dataclass(frozen=True)
class FeedInfo:
    """A bank published as a feed (publisher side)."""

    name: str
    bank: str | None  # None once the bank is deleted (its removals are in the feed)
    description: str
    head_seq: int
    items: int
    key_id: str
    public_key: str
    created_at: datetime
    created_by: str

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class FeedPage:
    """Entries after a cursor, as a peer reads them (the wire format of docs/exchange.md)."""

    feed: str
    key_id: str
    public_key: str
    head_seq: int
    entries: list[dict[str, object]]

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class OpinionInfo:
    """What one peer said about one item of a feed (publisher side), or what this instance
    said about a received item (subscriber side: `peer` is the source's name)."""

    feed: str
    item: int
    peer: str
    opinion: str
    note: str
    at: datetime
    sent: bool = True

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        return d


@dataclass(frozen=True)
class SourceInfo:
    """A peer's feed this instance follows (subscriber side); never its credential's value."""

    name: str
    kind: str  # "peer" (a safeguard feed) or "api" (a hash-sharing service)
    api: str  # the service, for kind "api"
    url: str
    feed: str
    key_id: str
    credential: str
    bank: str
    may_block: bool
    enabled: bool
    cursor: int
    items: int
    last_sync_at: datetime | None
    last_error: str
    created_at: datetime
    created_by: str

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["last_sync_at"] = self.last_sync_at.isoformat() if self.last_sync_at else None
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class SyncReport:
    """What one sync of one source did."""

    source: str
    opinions_sent: int
    entries: int
    added: int
    removed: int
    cursor: int
    head_seq: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}
