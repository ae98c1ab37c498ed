"""Request and response bodies of the `/v1` API (they make the OpenAPI spec).

The spec is as strict as the server. Where the library checks a value itself (names,
hashes, formats; a 400 whose message names the problem), the spec states the same rule,
built from the library's own patterns and registries, with `spec()`; FastAPI checks the
rest (types, bounds, unknown fields; a 422). Request fields take JSON's types only: no
`0` for `false`, no number for a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    create_model,
)

from safeguard.access.keys import KEY_NAME, MAX_RATE_LIMIT, SCOPES
from safeguard.banks.formats import FORMATS
from safeguard.banks.service import BANK_NAME
from safeguard.engine import signal_types
from safeguard.signals import get_signal_type

Signals = dict[str, str]


def spec(**schema: Any) -> dict[str, Any]:
    """`json_schema_extra` for a rule the library enforces itself: in the spec only."""
    return schema


def whole(pattern: str) -> str:
    """A Python `fullmatch` pattern as a JSON Schema one (there `$` ends the string)."""
    return f"^(?:{pattern})$"


#: the signal types whose values requests and responses carry, and those with thresholds
LISTABLE = signal_types(listable=True)
NON_EXACT = {n: t for n, t in signal_types().items() if not t.exact}


def signal_spec(name: str) -> dict[str, Any]:
    """What a value of signal type `name` looks like (hex digests: their number of digits)."""
    length = getattr(get_signal_type(name), "hex_length", None)
    return spec(minLength=1) if length is None else spec(pattern=f"^[0-9A-Fa-f]{{{length}}}$")


#: what the library takes as a bank or key name
BANK_NAME_SPEC = spec(minLength=1, maxLength=100, pattern=whole(BANK_NAME.pattern))
KEY_NAME_SPEC = spec(minLength=1, maxLength=100, pattern=whole(KEY_NAME.pattern))
#: text the store can hold: no NUL (PostgreSQL text cannot)
TEXT_SPEC = spec(pattern="^[^\\u0000]*$")
#: {signal type: value}, at least one, of the registered signal types
SIGNALS_SPEC = spec(
    properties={name: {"type": "string", **signal_spec(name)} for name in LISTABLE},
    additionalProperties=False,
    minProperties=1,
)
SIGNAL_TYPE_SPEC = spec(enum=list(LISTABLE))
#: {non-exact signal type: distance threshold}, each within its type's bounds
THRESHOLDS_SPEC = spec(
    properties={
        n: {"type": "integer", "minimum": 0, "maximum": t.max_threshold}
        for n, t in NON_EXACT.items()
    },
    additionalProperties=False,
)
#: the bank field of the first releases, `<type>_threshold`, kept beside `thresholds`
COMPAT_THRESHOLD = "pdq_threshold"
_COMPAT_TYPE = get_signal_type(COMPAT_THRESHOLD.removesuffix("_threshold"))
FORMAT_SPEC = spec(enum=list(FORMATS))


def _text_only(value: object) -> object:
    if not isinstance(value, str | datetime):
        raise ValueError("should be a date-time string")  # noqa: TRY004 (pydantic wants this)
    return value


def _number_only(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError("should be a JSON number")  # noqa: TRY004 (pydantic wants this)
    return value


#: a time as JSON gives it: an RFC 3339 string, never a number of seconds
Time = Annotated[AwareDatetime, BeforeValidator(_text_only)]
#: only JSON numbers, never `true` or `"3"` (after any bounds, or the spec loses them)
NUMBER_ONLY = BeforeValidator(_number_only)
Int = Annotated[int, NUMBER_ONLY]
Number = Annotated[float, NUMBER_ONLY]


def thresholds_of(body: BankCreate | BankPatch) -> dict[str, int] | None:
    """A bank body's thresholds by type: `thresholds`, and the field of the first releases
    (where both name a type, `thresholds` wins)."""
    given = dict(body.thresholds or {})
    compat = getattr(body, COMPAT_THRESHOLD)
    if compat is not None:
        given.setdefault(_COMPAT_TYPE.name, compat)
    return given or None


CompatThreshold = Annotated[int, Field(ge=0, le=_COMPAT_TYPE.max_threshold), NUMBER_ONLY]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BankCreate(Strict):
    name: str = Field(
        description="1-100 letters, digits, '_', '-' or '.'", json_schema_extra=BANK_NAME_SPEC
    )
    pdq_threshold: CompatThreshold | None = Field(
        None,
        description=f"{_COMPAT_TYPE.name}'s threshold (default "
        f"{_COMPAT_TYPE.default_threshold}); as `thresholds`, which it predates",
    )
    thresholds: dict[str, Int] | None = Field(
        None,
        description="distance threshold by signal type (each type's default where not given)",
        json_schema_extra=THRESHOLDS_SPEC,
    )
    negative: StrictBool = Field(False, description="known false positives: suppress other matches")
    description: str = Field("", max_length=10_000, json_schema_extra=TEXT_SPEC)
    dihedral: StrictBool = Field(True, description="also match rotated and mirrored copies")
    trim_borders: StrictBool = Field(True, description="also match the picture inside a border")
    local_features: StrictBool = Field(
        True, description="keep images' local features and match cropped copies with them"
    )


class BankPatch(Strict):
    name: str | None = Field(
        None,
        description="rename the bank (content ids stay the same)",
        json_schema_extra=BANK_NAME_SPEC,
    )
    pdq_threshold: CompatThreshold | None = None
    thresholds: dict[str, Int] | None = Field(None, json_schema_extra=THRESHOLDS_SPEC)
    negative: StrictBool | None = None
    description: str | None = Field(None, max_length=10_000, json_schema_extra=TEXT_SPEC)
    enabled: StrictBool | None = None
    match_ratio: Annotated[float, Field(ge=0, le=1), NUMBER_ONLY] | None = None
    dihedral: StrictBool | None = None
    trim_borders: StrictBool | None = None
    local_features: StrictBool | None = None


class BankOut(BaseModel):
    name: str
    description: str
    pdq_threshold: int
    thresholds: dict[str, int] = Field(description="distance threshold by signal type")
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
    signals: Signals = Field(
        description="signal type -> value, e.g. {'pdq': '<64 hex>'}", json_schema_extra=SIGNALS_SPEC
    )
    source: str = Field("", max_length=500, json_schema_extra=TEXT_SPEC)
    external_id: str | None = Field(None, max_length=500, json_schema_extra=TEXT_SPEC)
    note: str = Field("", max_length=10_000, json_schema_extra=TEXT_SPEC)
    tags: list[Annotated[str, Field(json_schema_extra=TEXT_SPEC)]] = Field(
        default_factory=list, max_length=100
    )


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
    disabled_until: Time | None = Field(
        description="switch the item off until this time (null: on again)"
    )


class AddOut(BaseModel):
    content_id: int
    created: bool = Field(description="false when the bank already held this content")


#: a hashed file as `FileSignals.to_json()` gives it: each listable type's value, and its
#: quality where it has one, between the path and the image's properties
FileSignalsOut: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "FileSignalsOut",
    path=(str, ...),
    **{
        f: (kind | None, Field(None, description=d))
        for n, t in LISTABLE.items()
        for f, kind, d in [(n, str, t.description), (f"{n}_quality", int, "0-100")]
        if f == n or t.has_quality
    },
    width=(int | None, None),
    height=(int | None, None),
    low_quality=(bool | None, None),
    size=(int | None, None),
    error=(str | None, None),
    error_code=(str | None, None),
)


class FileAddOut(AddOut):
    file: FileSignalsOut  # type: ignore[valid-type]


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
    queries: list[Annotated[Signals, Field(json_schema_extra=SIGNALS_SPEC)]] = Field(
        min_length=1, max_length=10_000
    )
    banks: list[str] | None = Field(None, description="only match these banks")


class MatchResults(BaseModel):
    results: list[MatchResultOut]


class FileMatchOut(BaseModel):
    file: FileSignalsOut  # type: ignore[valid-type]
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
    #: where the index was loaded from: "store" (every row read) or "snapshot"
    source: str
    snapshot_version: int | None


class KeyCreate(Strict):
    name: str = Field(json_schema_extra=KEY_NAME_SPEC)
    scopes: list[Annotated[str, Field(json_schema_extra=spec(enum=list(SCOPES)))]] = Field(
        min_length=1
    )
    rate_limit: Annotated[int, Field(ge=1, le=MAX_RATE_LIMIT), NUMBER_ONLY] | None = None


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
