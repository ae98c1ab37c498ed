"""Plain records the bank API takes and returns: banks, content with provenance, hash-list rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Provenance:
    """Where a piece of bank content came from. `added_by` defaults to the session's actor."""

    source: str = ""
    external_id: str | None = None
    note: str = ""
    tags: tuple[str, ...] = ()
    added_by: str | None = None


@dataclass(frozen=True)
class BankInfo:
    id: int
    name: str
    description: str
    #: the distance threshold of every non-exact signal type in this bank
    thresholds: dict[str, int]
    negative: bool
    enabled: bool
    match_ratio: float
    dihedral: bool
    trim_borders: bool
    local_features: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    content_count: int = 0
    signal_counts: dict[str, int] = field(default_factory=dict)

    @property
    def pdq_threshold(self) -> int:
        """The PDQ threshold, as the first releases reported it."""
        return self.thresholds["pdq"]

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["pdq_threshold"] = self.pdq_threshold
        d["created_at"] = self.created_at.isoformat()
        d["updated_at"] = self.updated_at.isoformat()
        return d


@dataclass(frozen=True)
class ContentInfo:
    id: int
    bank: str
    signals: dict[str, str]
    source: str
    external_id: str | None
    note: str
    tags: list[str]
    added_at: datetime
    added_by: str
    disabled_until: datetime | None = None

    def enabled_at(self, when: datetime) -> bool:
        return self.disabled_until is None or self.disabled_until <= when

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["content_id"] = d.pop("id")
        d["added_at"] = self.added_at.isoformat()
        d["disabled_until"] = self.disabled_until.isoformat() if self.disabled_until else None
        return d


@dataclass(frozen=True)
class AddResult:
    """The outcome of adding one item: its content id, and whether it was new."""

    content_id: int
    created: bool


@dataclass
class HashRecord:
    """One content item of a hash list: one or more signals plus provenance."""

    signals: dict[str, str]
    external_id: str | None = None
    source: str = ""
    note: str = ""
    tags: list[str] = field(default_factory=list)
    line: int = 0

    def dedupe_key(self) -> str:
        return content_key(self.signals)


def content_key(signals: dict[str, str]) -> str:
    """What makes two additions the same content: the strongest signal they carry (a long
    value by its digest, as the store keeps it)."""
    from safeguard.store.models import stored_value

    for t in ("sha256", "md5", "pdq"):
        if t in signals:
            return f"{t}:{signals[t]}"
    t = sorted(signals)[0]
    return f"{t}:{stored_value(signals[t])}"


@dataclass(frozen=True)
class ImportReport:
    bank: str
    lines: int
    added: int
    already_present: int
    duplicates_in_file: int

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote, and what it left out: `local_features` counts the items whose
    local features (crop matching) no hash-list format carries."""

    bank: str
    format: str
    items: int
    local_features: int

    def warnings(self) -> list[str]:
        if not self.local_features:
            return []
        return [
            f"{self.local_features} of {self.items} item(s) have local features (crop "
            f"matching) that a {self.format} list does not carry: a bank imported from it "
            "matches them by hash only. To keep crop matching, import the list, then add the "
            "original image files to the same bank with `safeguard bank add` (each file joins "
            "its item and brings its features back)"
        ]

    def to_json(self) -> dict[str, object]:
        return {
            "bank": self.bank,
            "format": self.format,
            "items": self.items,
            "local_features_not_exported": self.local_features,
            "warnings": self.warnings(),
        }
