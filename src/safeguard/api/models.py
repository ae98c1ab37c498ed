"""Request and response bodies of the `/v1` API (they make the OpenAPI spec)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from safeguard.banks.service import MAX_PDQ_THRESHOLD
from safeguard.signals.pdq import DEFAULT_THRESHOLD

Signals = dict[str, str]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BankCreate(Strict):
    name: str = Field(description="1-100 letters, digits, '_', '-' or '.'")
    pdq_threshold: int = Field(DEFAULT_THRESHOLD, ge=0, le=MAX_PDQ_THRESHOLD)
    negative: bool = Field(False, description="known false positives: suppress other matches")
    description: str = Field("", max_length=10_000)
    dihedral: bool = Field(True, description="also match rotated and mirrored copies")
    trim_borders: bool = Field(True, description="also match the picture inside a border")
    local_features: bool = Field(
        True, description="keep images' local features and match cropped copies with them"
    )


class BankPatch(Strict):
    name: str | None = Field(None, description="rename the bank (content ids stay the same)")
    pdq_threshold: int | None = Field(None, ge=0, le=MAX_PDQ_THRESHOLD)
    negative: bool | None = None
    description: str | None = Field(None, max_length=10_000)
    enabled: bool | None = None
    match_ratio: float | None = Field(None, ge=0, le=1)
    dihedral: bool | None = None
    trim_borders: bool | None = None
    local_features: bool | None = None


class BankOut(BaseModel):
    name: str
    description: str
    pdq_threshold: int
    negative: bool
    enabled: bool
    match_ratio: float
    dihedral: bool
    trim_borders: bool
    local_features: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    content_count: int
    signal_counts: dict[str, int]


class ContentIn(Strict):
    signals: Signals = Field(description="signal type -> value, e.g. {'pdq': '<64 hex>'}")
    source: str = Field("", max_length=500)
    external_id: str | None = Field(None, max_length=500)
    note: str = Field("", max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=100)


class ContentOut(BaseModel):
    content_id: int
    bank: str
    signals: Signals
    source: str
    external_id: str | None
    note: str
    tags: list[str]
    added_at: datetime
    added_by: str
    disabled_until: datetime | None


class ContentPage(BaseModel):
    items: list[ContentOut]
    next_after: int | None = Field(description="pass as `after` for the next page; null at the end")


class ContentPatch(Strict):
    disabled_until: AwareDatetime | None = Field(
        description="switch the item off until this time (null: on again)"
    )


class AddOut(BaseModel):
    content_id: int
    created: bool = Field(description="false when the bank already held this content")


class FileSignalsOut(BaseModel):
    path: str
    md5: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    width: int | None = None
    height: int | None = None
    low_quality: bool | None = None
    size: int | None = None
    error: str | None = None
    error_code: str | None = None


class FileAddOut(AddOut):
    file: FileSignalsOut


class MatchOut(BaseModel):
    bank: str
    content_id: int
    signal_type: str
    distance: int
    external_id: str | None
    variant: str | None = Field(
        None, description="the query variant that matched (rot90, flip_h, trim...), if any"
    )


class MatchResultOut(BaseModel):
    matched: bool
    matches: list[MatchOut]
    negative_matches: list[MatchOut]
    suppressed: list[MatchOut]


class MatchQueries(Strict):
    queries: list[Signals] = Field(min_length=1, max_length=10_000)
    banks: list[str] | None = Field(None, description="only match these banks")


class MatchResults(BaseModel):
    results: list[MatchResultOut]


class FileMatchOut(BaseModel):
    file: FileSignalsOut
    result: MatchResultOut | None


class FileMatchResults(BaseModel):
    results: list[FileMatchOut]


class ImportOut(BaseModel):
    bank: str
    lines: int
    added: int
    already_present: int
    duplicates_in_file: int


class IndexStatusOut(BaseModel):
    ready: bool
    sizes: dict[str, int]
    banks: int
    change_cursor: int
    built_at: float | None
    caught_up_at: float | None
    age_seconds: float | None
    rebuilds: int
    changes_applied: int
    last_error: str | None


class KeyCreate(Strict):
    name: str
    scopes: list[str] = Field(min_length=1)
    rate_limit: int | None = Field(None, ge=1)


class KeyOut(BaseModel):
    name: str
    prefix: str
    scopes: list[str]
    rate_limit: int | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="the secret: shown once, never stored")


class ChangeOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    bank_name: str | None
    content_id: int | None
    detail: dict[str, object]


class ChangePage(BaseModel):
    items: list[ChangeOut]
    next_after: int | None
