"""What the evidence API hands back: an item's record (never its bytes), and the reports of
a purge, a discard and a key rotation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from safeguard.store.evidence_tables import EvidenceItem


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


@dataclass(frozen=True)
class EvidenceInfo:
    id: int
    case_id: int
    name: str
    sha256: str  # of the plaintext
    size: int
    key_id: str
    path: str  # relative to the evidence directory
    stored_at: datetime
    stored_by: str
    clock_reason: str | None
    retain_until: datetime | None  # None: no clock runs (the case is undecided)
    legal_hold: bool
    deleted_at: datetime | None
    deleted_reason: str

    @classmethod
    def of(cls, row: EvidenceItem) -> EvidenceInfo:
        return cls(
            id=row.id,
            case_id=row.case_id,
            name=row.name or "",
            sha256=row.sha256,
            size=row.size,
            key_id=row.key_id,
            path=row.path,
            stored_at=row.stored_at,
            stored_by=row.stored_by or "",
            clock_reason=row.clock_reason,
            retain_until=row.retain_until,
            legal_hold=bool(row.legal_hold),
            deleted_at=row.deleted_at,
            deleted_reason=row.deleted_reason or "",
        )

    @property
    def live(self) -> bool:
        return self.deleted_at is None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "case_id": self.case_id,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "key_id": self.key_id,
            "path": self.path,
            "stored_at": _iso(self.stored_at),
            "stored_by": self.stored_by,
            "clock_reason": self.clock_reason,
            "retain_until": _iso(self.retain_until),
            "legal_hold": self.legal_hold,
            "deleted_at": _iso(self.deleted_at),
            "deleted_reason": self.deleted_reason,
        }


@dataclass
class PurgeReport:
    """What a purge (or a case's discard) did, item by item."""

    as_of: datetime
    deleted: list[int] = field(default_factory=list)
    #: deleted items whose file was already gone (recorded as such)
    missing_files: list[int] = field(default_factory=list)
    #: items it would have deleted but for a legal hold
    held: list[int] = field(default_factory=list)
    #: (id, why) of items it could not delete; they are as they were
    failed: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "deleted": self.deleted,
            "missing_files": self.missing_files,
            "held": self.held,
            "failed": [{"id": i, "error": why} for i, why in self.failed],
        }


@dataclass
class RotationReport:
    """What `rotate` did: items re-encrypted under the current key, those already under it,
    failures, and how many live items any other key still seals (0: old keys may go)."""

    key_id: str
    rotated: list[int] = field(default_factory=list)
    already_current: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    remaining: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "rotated": self.rotated,
            "already_current": self.already_current,
            "failed": [{"id": i, "error": why} for i, why in self.failed],
            "remaining": self.remaining,
        }
