"""Reading the audit log, for admins and auditors only (docs/moderation.md).

Entries come in seq order, a page at a time (`after_seq` is the last seq of the page
before), filtered by subject, action (`"bank.*"`: every action starting "bank.") or actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from safeguard.access.people import Actor
from safeguard.errors import InvalidRequest
from safeguard.store import Database
from safeguard.store.audit_tables import AuditEntry

#: the most entries one call returns
MAX_LIMIT = 1000


@dataclass(frozen=True)
class AuditEntryInfo:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, object]
    hash: str

    def to_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "at": self.at.astimezone(UTC).isoformat(),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "detail": self.detail,
            "hash": self.hash,
        }


class AuditReader:
    """The audit log as `actor` may read it: all of it for admins and auditors, nothing for
    anyone else (Forbidden)."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def entries(
        self,
        after_seq: int = 0,
        limit: int = 100,
        subject: str | None = None,
        action: str | None = None,
        actor_name: str | None = None,
    ) -> list[AuditEntryInfo]:
        """Up to `limit` entries with seq above `after_seq`, oldest first."""
        self.actor.require(self.actor.may_read_audit(), "read the audit log")
        if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
            raise InvalidRequest(f"after must be a seq of 0 or more, got {after_seq!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(f"limit must be 1 to {MAX_LIMIT}, got {limit!r}")
        q = select(AuditEntry).where(AuditEntry.seq > after_seq)
        if subject:
            q = q.where(AuditEntry.subject == subject)
        if action and action.endswith("*"):
            q = q.where(AuditEntry.action.startswith(action[:-1], autoescape=True))
        elif action:
            q = q.where(AuditEntry.action == action)
        if actor_name:
            q = q.where(AuditEntry.actor == actor_name)
        with self.db.transaction() as s:
            rows = s.scalars(q.order_by(AuditEntry.seq).limit(limit))
            return [
                AuditEntryInfo(r.seq, r.at, r.actor, r.action, r.subject, dict(r.detail), r.hash)
                for r in rows
            ]
