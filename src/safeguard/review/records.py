"""What the case services return: a case, its items, a decision's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from safeguard.store.review_tables import Case, CaseItem

DECISIONS = ("confirmed", "not_abuse", "escalate")


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


@dataclass(frozen=True)
class CaseInfo:
    id: int
    account_id: str
    state: str
    priority: int
    child_safety: bool
    reason: str
    opened_at: datetime
    updated_at: datetime
    claimed_by: str | None
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    version: int
    items: int = 0

    @classmethod
    def of(cls, row: Case, items: int = 0) -> CaseInfo:
        return cls(
            row.id,
            row.account_id,
            row.state,
            row.priority,
            row.child_safety,
            row.reason,
            row.opened_at,
            row.updated_at,
            row.claimed_by,
            row.decision,
            row.decided_by,
            row.decided_at,
            row.version,
            items,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "account_id": self.account_id,
            "state": self.state,
            "priority": self.priority,
            "child_safety": self.child_safety,
            "reason": self.reason,
            "opened_at": _iso(self.opened_at),
            "updated_at": _iso(self.updated_at),
            "claimed_by": self.claimed_by,
            "decision": self.decision,
            "decided_by": self.decided_by,
            "decided_at": _iso(self.decided_at),
            "version": self.version,
            "item_count": self.items,
        }


@dataclass(frozen=True)
class CaseItemInfo:
    id: int
    kind: str
    at: datetime
    event_id: int | None
    bank: str | None
    content_id: int | None
    signal_type: str | None
    distance: int | None
    detail: dict[str, object]

    @classmethod
    def of(cls, row: CaseItem) -> CaseItemInfo:
        return cls(
            row.id,
            row.kind,
            row.at,
            row.event_id,
            row.bank_name,
            row.content_id,
            row.signal_type,
            row.distance,
            dict(row.detail or {}),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "at": _iso(self.at),
            "event_id": self.event_id,
            "bank": self.bank,
            "content_id": self.content_id,
            "signal_type": self.signal_type,
            "distance": self.distance,
            **self.detail,
        }


@dataclass(frozen=True)
class CaseDetail:
    case: CaseInfo
    items: tuple[CaseItemInfo, ...]

    def to_json(self) -> dict[str, object]:
        return {**self.case.to_json(), "items": [i.to_json() for i in self.items]}


@dataclass(frozen=True)
class Decision:
    case: CaseInfo
    #: content added to a bank by the decision: {"bank", "content_id", "created"}
    added: tuple[dict[str, object], ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {**self.case.to_json(), "added": list(self.added)}
