"""Routes compatible with Meta's HMA 2.x (OpenMediaMatch): `/h`, `/m` and `/c`.

An HMA client points at safeguard and gets the same answers, in HMA's shapes and status
codes: `{"message": ...}` errors, string distances, `bank_content_id`, 403 for a duplicate
bank, 200 with `{"message": "Done"}` for any bank delete. What differs, and why, is in
docs/api.md ("Switching from HMA"); above all, every route needs an API key here unless
`SAFEGUARD_API_OPEN_HMA` is on. Signal types go by their HMA names (`hma_name`: `pdq`,
`video_md5`, `vpdq`); the types listed for photo and video are, from the registry, each
content type's perceptual types and the digests HMA names after it (`pdq` for photos,
`video_md5` and `vpdq` for videos, as HMA with its vPDQ extension); the others (`sha256`)
are accepted but not listed. HMA's configuration routes answer as an HMA with those signal
types, photo and video, and no exchange types installed.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from safeguard.api.auth import Principal, require
from safeguard.api.errors import ApiError
from safeguard.api.metrics import count_lookups
from safeguard.api.models import LISTABLE, Int, Number, signal_spec, spec
from safeguard.api.routes.common import ContentId, errors, hash_bytes, hash_upload
from safeguard.api.runtime import Runtime, runtime
from safeguard.api.uploads import fetch_url
from safeguard.banks import BankInfo, ContentInfo, Provenance
from safeguard.engine import Purpose
from safeguard.errors import BankExists, BankNotFound, ContentNotFound, SafeguardError
from safeguard.matching import MatchResult
from safeguard.signals import get_signal_type
from safeguard.signals.files import FileSignals

hashing = APIRouter(prefix="/h", tags=["hma"], dependencies=[Depends(require("hash", hma=True))])
match_scope = require("match", hma=True)
matching = APIRouter(prefix="/m", tags=["hma"], dependencies=[Depends(match_scope)])
curation = APIRouter(prefix="/c", tags=["hma"])
curate = require("curate", hma=True)

HMA_BANK_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
#: HMA's content types: what its clients upload
HMA_CONTENT_TYPES = ("photo", "video")


def _hma_types_of(content_type: str) -> tuple[str, ...]:
    """Our signal types HMA hashes `content_type` with (module docstring): its perceptual
    types and the digests HMA names after it (`video_md5`), else all that apply. Videos get
    `video_md5` and `vpdq`, as from an HMA with its vPDQ extension."""
    applies = [t for t in LISTABLE.values() if content_type in t.content_types]
    chosen = [t for t in applies if not t.exact or t.hma_name.startswith(f"{content_type}_")]
    return tuple(t.name for t in chosen or applies)


#: HMA content type -> the HMA names of the signal types it is hashed with
CONTENT_TYPES = {
    c: tuple(LISTABLE[t].hma_name for t in _hma_types_of(c)) for c in HMA_CONTENT_TYPES
}
#: HMA's names for our signal types
HMA_NAME = {n: t.hma_name for n, t in LISTABLE.items()}
#: the signal types an HMA lists, by HMA name (the others are accepted but not listed)
HMA_TYPES = {LISTABLE[t].hma_name: t for c in HMA_CONTENT_TYPES for t in _hma_types_of(c)}
NOTE_MAX = 255
ENABLED_TS, DISABLED_TS = 1, 0
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)

Json = dict[str, Any]
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "photo": {"type": "string", "format": "binary"},
                        "video": {"type": "string", "format": "binary"},
                    },
                    "oneOf": [{"required": ["photo"]}, {"required": ["video"]}],
                }
            }
        },
    }
}
# the spec of what the handlers below check themselves (answering HMA's 400 and message)
_BANK_NAME = spec(pattern="^[A-Z][A-Z0-9_]{0,99}$")  # HMA_BANK_NAME within ours (BANK_NAME)
_RATIO = spec(minimum=0, maximum=1)
_CONTENT_TYPE = spec(enum=list(CONTENT_TYPES))
_HMA_TYPE = spec(enum=list(HMA_TYPES))
_ANY_TYPE = spec(enum=sorted({*HMA_NAME.values(), *LISTABLE}))
#: a note: text, or an empty value for none
_NOTE = {"anyOf": [{"type": "string", "maxLength": NOTE_MAX}, {"enum": [None, False, 0, {}, []]}]}
_ONE_TYPE = "|".join(re.escape(n) for n in HMA_TYPES)
_TYPES = spec(pattern=rf"^\s*(?:{_ONE_TYPE})\s*(?:,\s*(?:{_ONE_TYPE})?\s*)*$")
#: a hex digest or PDQ, or a vPDQ (a JSON array)
_HASH = spec(pattern=r"^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{64}|\s*\[[\s\S]*)$")
#: {HMA signal type: value}: at least one, with an optional note
_SIGNALS = spec(
    type="object",
    properties={
        **{n: {"type": "string", **signal_spec(t)} for n, t in HMA_TYPES.items()},
        "note": _NOTE,
    },
    additionalProperties=False,
    anyOf=[{"required": [n]} for n in HMA_TYPES],
)
#: {HMA signal type: [a, b]}
_PAIRS = spec(
    type="object",
    properties={
        n: {
            "type": "array",
            "items": {"type": "string", **signal_spec(t)},
            "minItems": 2,
            "maxItems": 2,
        }
        for n, t in HMA_TYPES.items()
    },
    additionalProperties=False,
)


def _bad(message: str, status: int = 400) -> ApiError:
    return ApiError(status, message, "invalid_request" if status == 400 else "hma_error")


def _signal_type(name: str) -> str:
    try:
        st = get_signal_type(name)
    except SafeguardError:
        raise _bad(f"No such SignalType '{name}'") from None
    if st.name not in LISTABLE:
        raise _bad(f"No such SignalType '{name}'")
    return st.name


def _validate(type_name: str, value: str) -> str:
    try:
        return LISTABLE[type_name].validate(value)
    except SafeguardError as e:
        raise _bad(f"invalid signal: {e.message}") from None


def _bank_names(banks: str | None) -> set[str] | None:
    return {b.strip() for b in banks.split(",") if b.strip()} if banks else None


# -- hashing ---------------------------------------------------------------------------------


def _wanted(content_type: str, types: str | None) -> tuple[str, ...]:
    """The HMA names of the signal types to hash `content_type` with (all, or `types`)."""
    wanted = CONTENT_TYPES[content_type]
    if types is None:
        return wanted
    chosen = [t.strip() for t in types.split(",") if t.strip()]
    if not chosen:
        raise _bad("empty signal type selection")
    for t in chosen:
        if t not in wanted:
            raise _bad(f"signal type '{t}' doesn't exist or is disabled")
    return tuple(chosen)


def _hma_signals(fs: FileSignals, content_type: str, types: str | None) -> dict[str, str]:
    """HMA's hash response: {HMA signal type: value} of the types of the content type. A
    type that applies to photos only needs the file to be an image."""
    found = fs.signals()
    out: dict[str, str] = {}
    for hma in _wanted(content_type, types):
        t = HMA_TYPES[hma]
        if t in found:
            out[hma] = found[t]
        elif "file" not in LISTABLE[t].content_types:
            raise _bad(f"cannot hash the {content_type}: {fs.error or 'not an image'}")
    return out


async def _upload(
    request: Request, rt: Runtime, purpose: Purpose = "hash"
) -> tuple[FileSignals, str]:
    """Signals and content type of HMA's one-file upload: form field `photo` or `video`."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise _bad("Missing multipart/form-data file upload")
    form = await request.form(max_files=2, max_fields=20)
    files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
    if not files:
        raise _bad("Missing multipart/form-data file upload")
    if len(files) > 1:
        raise _bad("Only one file allowed per request")
    field, upload = files[0]
    if field not in CONTENT_TYPES:
        raise _bad(f"no such content_type: '{field}'")
    return await hash_upload(rt, upload, purpose), field


async def _from_url(
    url: str, content_type: str | None, rt: Runtime, purpose: Purpose = "hash"
) -> tuple[FileSignals, str]:
    """Fetch and hash media; without `content_type`, the response's Content-Type decides."""
    if content_type is not None and content_type not in CONTENT_TYPES:
        raise _bad(f"no such content_type: '{content_type}'")
    data, served_as = await fetch_url(url, rt.service, rt.service.max_upload_bytes)
    if content_type is None:
        kind = served_as.split("/")[0].strip().lower()
        if kind not in ("image", "video"):
            raise _bad(
                f"unsupported url ContentType: '{served_as}', if you know the expected type, "
                "provide it with the content_type query param"
            )
        content_type = "photo" if kind == "image" else "video"
    return await hash_bytes(rt, data, url, purpose), content_type


@hashing.get("/hash", responses=errors(400, 413))
async def hash_url(
    url: str = Query(description="media to fetch (only when URL fetching is enabled)"),
    content_type: str | None = Query(
        None, description="photo or video", json_schema_extra=_CONTENT_TYPE
    ),
    types: str | None = Query(
        None, description="comma-separated signal types", json_schema_extra=_TYPES
    ),
    rt: Runtime = Depends(runtime),
) -> dict[str, str]:
    """Hash media at a URL (HMA `GET /h/hash`)."""
    fs, ctype = await _from_url(url, content_type, rt)
    return _hma_signals(fs, ctype, types)


@hashing.post("/hash", responses=errors(400, 413), openapi_extra=_UPLOAD_BODY)
async def hash_post(
    request: Request,
    types: str | None = Query(
        None, description="comma-separated signal types", json_schema_extra=_TYPES
    ),
    rt: Runtime = Depends(runtime),
) -> dict[str, str]:
    """Hash an uploaded file sent as form field `photo` or `video` (HMA `POST /h/hash`)."""
    fs, ctype = await _upload(request, rt)
    return _hma_signals(fs, ctype, types)


# -- matching --------------------------------------------------------------------------------


#: (bank, content id, distance, the query variant that matched or "") of a match
Hit = tuple[str, int, int, str]


def _raw(result: MatchResult, raw: bool) -> list[Hit]:
    """The matches of a result (`raw`: all it found)."""
    found = result.matches + (result.suppressed + result.negative_matches if raw else [])
    return [(m.bank, m.content_id, m.distance, m.variant or "") for m in found]


def _hits(
    rt: Runtime,
    who: Principal,
    signal: str,
    signal_type: str,
    banks: set[str] | None,
    *,
    coinflip: float | None,
    raw: bool,
) -> tuple[str, list[Hit]]:
    """The canonical signal and (bank, content id, distance) of every match of it (on a
    thread: a match may read external ids from the database)."""
    t = _signal_type(signal_type)
    query = {t: _validate(t, signal)}
    result = rt.sg.match(
        query, banks=banks, coinflip=coinflip, include_disabled=raw, actor=who.actor
    )
    count_lookups([query], [result])
    return query[t], _raw(result, raw)


def _distance(
    rt: Runtime, who: Principal, signal_type: str, queries: Mapping[str, str], hit: Hit
) -> str:
    """HMA's distance text: PDQ distances as numbers in strings, exact matches as "-", vPDQ
    as shares of frames matched (the type's `similarity_text`), from the value that matched
    (`queries`: {variant or "": value})."""
    bank, cid, d, variant = hit
    st = get_signal_type(signal_type)
    return st.similarity_text(
        d,
        queries[variant],
        lambda: rt.banks(who.actor).get_content(cid, bank).signals.get(st.name),
    )


def _by_bank(
    rt: Runtime, who: Principal, hits: list[Hit], signal_type: str, queries: Mapping[str, str]
) -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = {}
    for hit in hits:
        out.setdefault(hit[0], []).append(
            {"bank_content_id": hit[1], "distance": _distance(rt, who, signal_type, queries, hit)}
        )
    return out


def _coinflip(seed: str | None, bypass: bool) -> float:
    return 0.0 if bypass else random.Random(seed).random()


@matching.get("/raw_lookup", responses=errors(400, 503))
def raw_lookup(
    signal: str = Query(json_schema_extra=_HASH),
    signal_type: str = Query(json_schema_extra=_ANY_TYPE),
    include_distance: bool = Query(False),
    banks: str | None = Query(None, description="comma-separated bank names"),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(match_scope),
) -> Json:
    """Content ids matching a hash, in every enabled bank (HMA `GET /m/raw_lookup`)."""
    value, hits = _hits(rt, who, signal, signal_type, _bank_names(banks), coinflip=None, raw=True)
    if include_distance:
        return {
            "matches": [
                {
                    "bank_content_id": h[1],
                    "distance": _distance(rt, who, signal_type, {"": value}, h),
                }
                for h in hits
            ]
        }
    return {"matches": [h[1] for h in hits]}


@matching.get("/lookup", responses=errors(400, 413, 503))
async def lookup_get(
    signal: str | None = Query(None, json_schema_extra=_HASH),
    signal_type: str | None = Query(None, json_schema_extra=_ANY_TYPE),
    url: str | None = Query(None, description="media to fetch and hash instead"),
    content_type: str | None = Query(None, json_schema_extra=_CONTENT_TYPE),
    seed: str | None = Query(None, description="makes the bank roll-out coin flip repeatable"),
    bypass_coinflip: bool = Query(False),
    banks: str | None = Query(None),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(match_scope),
) -> Json:
    """Matching banks for a hash, or for media at a URL (HMA `GET /m/lookup`)."""
    only = _bank_names(banks)
    flip = _coinflip(seed, bypass_coinflip)
    if url:
        fs, ctype = await _from_url(url, content_type, rt, "match")
        out = await run_in_threadpool(_media_hits, rt, who, fs, ctype, only, flip)
        return out.get(signal_type, {}) if signal_type else out
    if not signal or not signal_type:
        raise _bad("Either url or both signal and signal_type are required")

    def found() -> dict[str, list[Json]]:
        value, hits = _hits(rt, who, signal, signal_type, only, coinflip=flip, raw=False)
        return _by_bank(rt, who, hits, signal_type, {"": value})

    return await run_in_threadpool(found)


@matching.post("/lookup", responses=errors(400, 413, 503), openapi_extra=_UPLOAD_BODY)
async def lookup_post(
    request: Request,
    seed: str | None = Query(None),
    bypass_coinflip: str | None = Query(None),
    banks: str | None = Query(None),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(match_scope),
) -> Json:
    """Hash an uploaded `photo` or `video` and look it up (HMA `POST /m/lookup`)."""
    fs, ctype = await _upload(request, rt, "match")
    flip = _coinflip(seed, bypass_coinflip == "true")
    return await run_in_threadpool(_media_hits, rt, who, fs, ctype, _bank_names(banks), flip)


def _queries(fs: FileSignals, signal_type: str) -> dict[str, str]:
    """{variant or "": value} of one signal type of a hashed file."""
    return {"": fs.values[signal_type], **fs.variants.get(signal_type, {})}


def _media_hits(
    rt: Runtime,
    who: Principal,
    fs: FileSignals,
    ctype: str,
    only: set[str] | None,
    flip: float,
) -> dict[str, dict[str, list[Json]]]:
    """Matching banks for each signal of a media file (with its variants, as the library
    looks files up), by HMA signal type, one lookup per type (on a thread: a match may read
    external ids from the database)."""
    hma_names = list(_hma_signals(fs, ctype, None))
    types = [HMA_TYPES[n] for n in hma_names]
    results = rt.sg.match_by_type(fs, types, banks=only, coinflip=flip, actor=who.actor)
    count_lookups([{t: fs.values[t]} for t in results], list(results.values()))
    return {
        n: _by_bank(rt, who, _raw(results[t], False), n, _queries(fs, t)) if t in results else {}
        for n, t in zip(hma_names, types, strict=True)
    }


@matching.get("/index/status", responses=errors(400))
def index_status(
    signal_type: str | None = Query(None, json_schema_extra=_HMA_TYPE),
    rt: Runtime = Depends(runtime),
) -> Json:
    """Per signal type: whether the index is loaded, how many hashes, and when it last caught
    up (HMA `GET /m/index/status`)."""
    s = rt.sg.index_status()
    names = dict(HMA_TYPES)
    if signal_type is not None:
        if signal_type not in names:
            raise _bad(f"No such signal type '{signal_type}'")
        names = {signal_type: names[signal_type]}
    built_to = int(s.caught_up_at) if s.caught_up_at else -1
    return {
        hma: {
            "present": s.ready,
            "built_to": built_to if s.ready else -1,
            "size": s.sizes.get(t, 0),
        }
        for hma, t in names.items()
    }


@matching.post("/compare", responses=errors(400))
def compare(
    body: Any = Body(
        examples=[{n: ["<hash>", "<hash>"] for n in HMA_TYPES}], json_schema_extra=_PAIRS
    ),
    rt: Runtime = Depends(runtime),
) -> Json:
    """Compare pairs of hashes: `{type: [a, b]}` -> `{type: [matched, {"distance": n}]}`."""
    if not isinstance(body, dict):
        raise _bad("Request input was not a dict")
    out: Json = {}
    for name, pair in body.items():
        if not isinstance(pair, list):
            raise _bad(f"Comparison hashes for {name} was not a list")
        if len(pair) != 2:
            raise _bad("Comparison hash list length must be exactly 2")
        t = _signal_type(str(name))
        try:
            found = rt.sg.compare(t, *(str(v) for v in pair))
        except SafeguardError as e:
            raise _bad(f"Invalid {name} hash: {e.message}") from None
        out[str(name)] = [found.matched, {"distance": found.distance}]
    return out


# -- curation --------------------------------------------------------------------------------


def _bank_json(b: BankInfo) -> Json:
    return {"matching_enabled_ratio": b.match_ratio if b.enabled else 0.0, "name": b.name}


def _get_bank(rt: Runtime, who: Principal, name: str) -> BankInfo:
    try:
        return rt.banks(who.actor).get(name, counts=False)
    except BankNotFound:
        raise ApiError(404, f"bank '{name}' not found", "bank_not_found") from None


def _disable_ts(c: ContentInfo) -> int:
    if c.disabled_until is None:
        return ENABLED_TS
    if c.disabled_until >= FOREVER:
        return DISABLED_TS
    return int(c.disabled_until.timestamp())


def _metadata(c: ContentInfo) -> Json | None:
    """HMA's user metadata, as far as we keep it: `content_id` is the external id."""
    return {"content_id": c.external_id} if c.external_id else None


def _content_json(
    c: ContentInfo, bank: BankInfo, with_signals: str | bool, with_metadata: bool = True
) -> Json:
    """One item as HMA's `GET /c/bank/<n>/content/<id>` shows it."""
    out: Json = {
        "bank": _bank_json(bank),
        "disable_until_ts": _disable_ts(c),
        "id": c.id,
        "original_media_uri": None,
    }
    if with_signals:
        sigs = {HMA_NAME[t]: v for t, v in c.signals.items()}
        if isinstance(with_signals, str):
            sigs = {k: v for k, v in sigs.items() if k == with_signals}
        out["signals"] = sigs
    meta = _metadata(c) if with_metadata else None
    if meta:
        out["metadata"] = meta
    if c.note:
        out["note"] = c.note
    return out


def _content_config_json(c: ContentInfo, bank: BankInfo) -> Json:
    """One item as HMA's `PUT /c/bank/<n>/content/<id>` returns it (its stored config)."""
    return {
        "bank": _bank_json(bank),
        "collab_metadata": {},
        "disable_until_ts": _disable_ts(c),
        "id": c.id,
        "note": c.note or None,
        "original_media_uri": None,
        "user_metadata": _metadata(c),
    }


def _note(value: Any) -> str:
    """HMA's content note: a string of at most 255 characters; empty means none."""
    if not value:
        return ""
    if not isinstance(value, str):
        raise _bad("note should be a string")
    if len(value) > NOTE_MAX:
        raise _bad(f"note must be at most {NOTE_MAX} characters")
    return value


def _check_metadata(raw: Any) -> Json:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad("metadata should be a json object")
    raw = {k: v for k, v in raw.items() if k != "collab"}
    extra = set(raw) - _METADATA_KEYS
    if extra:
        raise _bad(f"Invalid metadata: unexpected keys {sorted(extra)}")
    return raw


class BankCreateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(json_schema_extra=_BANK_NAME)
    enabled_ratio: Number | None = Field(None, json_schema_extra=_RATIO)
    enabled: StrictBool | None = None


class BankUpdateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = Field(None, json_schema_extra=_BANK_NAME)
    enabled_ratio: Number | None = Field(None, json_schema_extra=_RATIO)
    enabled: StrictBool | None = None


class ContentUpdateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # at most 5 years after this process started: within the limit whenever it is checked
    disable_until_ts: Int | None = Field(
        None, json_schema_extra=spec(minimum=0, maximum=int(time.time()) + 5 * 365 * 86400)
    )
    note: str | None = Field(None, json_schema_extra=spec(maxLength=NOTE_MAX))


@curation.get("/banks", responses=errors())
def list_banks(rt: Runtime = Depends(runtime), who: Principal = Depends(curate)) -> list[Json]:
    """Every bank (HMA `GET /c/banks`)."""
    return [_bank_json(b) for b in rt.banks(who.actor).list()]


@curation.post("/banks", status_code=201, responses=errors(400))
def create_bank(
    body: BankCreateBody, rt: Runtime = Depends(runtime), who: Principal = Depends(curate)
) -> Json:
    """Create a bank; names are UPPER_WITH_UNDERSCORE (HMA `POST /c/banks`)."""
    if not HMA_BANK_NAME.fullmatch(body.name):
        raise _bad("Bank names must be UPPER_WITH_UNDERSCORE")
    ratio = _ratio_of(body.enabled, body.enabled_ratio)
    ratio = 1.0 if ratio is None else ratio
    try:
        info = rt.banks(who.actor).create(
            body.name, enabled=ratio > 0, match_ratio=ratio if ratio > 0 else 1.0
        )
    except BankExists:
        raise ApiError(403, "Bank already exists", "bank_exists") from None
    return _bank_json(info)


def _ratio_of(enabled: bool | None, enabled_ratio: float | None) -> float | None:
    """HMA's rule: `enabled` means a ratio of 1 or 0, and `enabled_ratio`, if given, wins.
    A ratio of 0 is kept as a disabled bank (see docs/api.md, "Switching from HMA")."""
    ratio = None if enabled is None else (1.0 if enabled else 0.0)
    if enabled_ratio is not None:
        if not 0 <= enabled_ratio <= 1:
            raise _bad("enabled_ratio must be between 0 and 1")
        ratio = float(enabled_ratio)
    return ratio


@curation.get("/bank/{bank_name}", responses=errors(404))
def get_bank(
    bank_name: str, rt: Runtime = Depends(runtime), who: Principal = Depends(curate)
) -> Json:
    return _bank_json(_get_bank(rt, who, bank_name))


@curation.put("/bank/{bank_name}", responses=errors(400, 404))
def update_bank(
    bank_name: str,
    body: BankUpdateBody,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> Json:
    """Rename, enable or disable a bank, or set its roll-out ratio (HMA `PUT /c/bank/<n>`),
    all in one transaction."""
    _get_bank(rt, who, bank_name)
    if body.name is not None and not HMA_BANK_NAME.fullmatch(body.name):
        raise _bad("Bank names must be UPPER_WITH_UNDERSCORE")
    ratio = _ratio_of(body.enabled, body.enabled_ratio)
    try:
        info = rt.banks(who.actor).update(
            bank_name,
            new_name=body.name,
            enabled=None if ratio is None else ratio > 0,
            match_ratio=ratio if ratio else None,
        )
    except BankExists:
        raise ApiError(403, "Bank name already exists", "bank_exists") from None
    return _bank_json(info)


@curation.delete("/bank/{bank_name}", responses=errors())
def delete_bank(
    bank_name: str, rt: Runtime = Depends(runtime), who: Principal = Depends(curate)
) -> Json:
    """Delete a bank and its content; `Done` even when there was no such bank (as HMA)."""
    with contextlib.suppress(BankNotFound):
        rt.banks(who.actor).delete(bank_name)
    return {"message": "Done"}


_METADATA_KEYS = {"content_id", "content_uri", "json"}


@curation.post(
    "/bank/{bank_name}/content",
    responses=errors(400, 404, 413),
    openapi_extra=_UPLOAD_BODY,
)
async def add_content(
    bank_name: str,
    request: Request,
    url: str | None = Query(None, description="media to fetch (when URL fetching is on)"),
    content_type: str | None = Query(None, json_schema_extra=_CONTENT_TYPE),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> Json:
    """Hash media (an upload or a URL) and add it to a bank (HMA
    `POST /c/bank/<n>/content`). Optional JSON `{"metadata": {"content_id": ...,
    "content_uri": ..., "json": {...}}}` with a URL; `content_id` becomes the external id."""
    await run_in_threadpool(_get_bank, rt, who, bank_name)
    meta: Json = {}
    note = ""
    ctype_header = request.headers.get("content-type", "")
    multipart = ctype_header.startswith("multipart/form-data")
    if ctype_header.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise _bad("request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("metadata should be a json object")
        meta = _check_metadata(body.get("metadata"))
        note = _note(body.get("note"))
    elif multipart:
        form = await request.form(max_files=2, max_fields=20)
        raw = form.get("metadata")
        if isinstance(raw, str):
            try:
                meta = _check_metadata(json.loads(raw))
            except ValueError:
                raise _bad("metadata form field must be valid JSON") from None
        note = _note(form.get("note"))
    if url:
        fs, ctype = await _from_url(url, content_type, rt, "add")
    elif multipart:
        fs, ctype = await _upload(request, rt, "add")
    else:
        raise _bad("Neither `url` nor multipart file upload was received")
    signals = _hma_signals(fs, ctype, None)
    prov = Provenance(
        source=str(meta.get("content_uri") or url or "upload"),
        external_id=str(meta["content_id"]) if meta.get("content_id") else None,
        note=note,
    )
    kept = [HMA_TYPES[n] for n in signals]
    added = await run_in_threadpool(
        lambda: rt.sg.add_hashed(bank_name, fs, prov, signal_types=kept, actor=who.actor)
    )
    return {"id": added.content_id, "signals": signals}


@curation.post("/bank/{bank_name}/signal", responses=errors(400, 404))
def add_signal(
    bank_name: str,
    body: Any = Body(examples=[{n: "<hash>" for n in HMA_TYPES}], json_schema_extra=_SIGNALS),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> Json:
    """Add one content item by its hashes: `{signal type: value}` (HMA
    `POST /c/bank/<n>/signal`)."""
    _get_bank(rt, who, bank_name)
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object of signal type -> value")
    body = dict(body)
    note = _note(body.pop("note", None))
    if not body:
        raise _bad("No signals given")
    clean: dict[str, str] = {}
    shown: dict[str, str] = {}
    for name, value in body.items():
        try:
            t = get_signal_type(str(name)).name
        except SafeguardError:
            raise _bad(f"No such signal type {name}") from None
        if t not in LISTABLE:
            raise _bad(f"No such signal type {name}")
        try:
            clean[t] = LISTABLE[t].validate(str(value))
        except SafeguardError as e:
            raise _bad(f"Invalid {name} signal: {e.message}") from None
        shown[str(name)] = clean[t]
    added = rt.banks(who.actor).add(bank_name, clean, Provenance(source="hma-signal", note=note))
    return {"id": added.content_id, "signals": shown}


def _get_content(rt: Runtime, who: Principal, bank_name: str, content_id: int) -> ContentInfo:
    try:
        return rt.banks(who.actor).get_content(content_id, bank_name)
    except ContentNotFound:
        raise ApiError(404, f"content '{content_id}' not found", "content_not_found") from None


@curation.get("/bank/{bank_name}/content/{content_id}", responses=errors(400, 404))
def get_content(
    bank_name: str,
    content_id: ContentId,
    include_signals: bool = Query(False),
    include_metadata: bool = Query(True),
    signal_type: str | None = Query(
        None,
        description="include only this type's signal",
        json_schema_extra=spec(enum=list(HMA_NAME.values())),
    ),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> Json:
    """One content item (HMA `GET /c/bank/<n>/content/<id>`)."""
    bank = _get_bank(rt, who, bank_name)
    if signal_type is not None and signal_type not in HMA_NAME.values():
        raise _bad(f"No such signal type '{signal_type}'")
    content = _get_content(rt, who, bank_name, content_id)
    return _content_json(content, bank, signal_type or include_signals, include_metadata)


@curation.put("/bank/{bank_name}/content/{content_id}", responses=errors(400, 404))
def update_content(
    bank_name: str,
    content_id: ContentId,
    body: ContentUpdateBody,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> Json:
    """Switch an item off until a unix time: 0 for good, 1 back on (HMA
    `PUT /c/bank/<n>/content/<id>`)."""
    bank = _get_bank(rt, who, bank_name)
    content = _get_content(rt, who, bank_name, content_id)
    if body.note is not None and _note(body.note) != content.note:
        raise _bad("a content item's note is set when it is added and cannot be changed here")
    ts = body.disable_until_ts
    if ts is not None:
        if ts < 0:
            raise _bad("disable_until_ts must be a non-negative integer")
        now = datetime.now(UTC)
        if ts > (now + timedelta(days=5 * 365)).timestamp():
            raise _bad("disable_until_ts must be less than 5 years in the future")
        until = (
            None
            if ts == ENABLED_TS
            else FOREVER
            if ts == DISABLED_TS
            else datetime.fromtimestamp(ts, UTC)
        )
        content = rt.banks(who.actor).set_content_disabled(bank_name, content_id, until)
    return _content_config_json(content, bank)


@curation.delete("/bank/{bank_name}/content/{content_id}", responses=errors(404))
def delete_content(
    bank_name: str,
    content_id: ContentId,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> JSONResponse:
    """Remove an item: `{"deleted": 1}`, or 0 when there was none (HMA)."""
    _get_bank(rt, who, bank_name)
    try:
        rt.banks(who.actor).remove_content(bank_name, content_id)
        deleted = 1
    except ContentNotFound:
        deleted = 0
    return JSONResponse({"deleted": deleted})


# -- configuration and exchanges (as an HMA with no exchange types installed) ---------------


@curation.get("/signal_type", responses=errors())
def signal_types(_: Principal = Depends(curate)) -> list[Json]:
    """The signal types matched, each always on (HMA `GET /c/signal_type`)."""
    return [{"enabled_ratio": 1.0, "name": name} for name in HMA_TYPES]


@curation.put("/signal_type/{signal_type_name}", responses=errors(400))
def update_signal_type(signal_type_name: str, _: Principal = Depends(curate)) -> Json:
    """Signal types cannot be switched off here: every type is always matched."""
    raise _bad("signal types cannot be switched off in safeguard (see docs/api.md)")


@curation.get("/signal_type/index", responses=errors(400))
def signal_type_index(
    signal_type: str | None = Query(None, json_schema_extra=_HMA_TYPE),
    rt: Runtime = Depends(runtime),
    _: Principal = Depends(curate),
) -> Json:
    """How far each index is built (HMA `GET /c/signal_type/index`): here always to the
    newest change this process has applied."""
    status = index_status(signal_type, rt)
    return {
        name: {
            "db_size": s["size"],
            "index_size": s["size"],
            "index_out_of_date": not s["present"],
            "newest_db_item": s["built_to"],
            "index_built_to": s["built_to"],
        }
        for name, s in status.items()
    }


@curation.get("/content_type", responses=errors())
def content_types(_: Principal = Depends(curate)) -> list[Json]:
    """The content types hashed (HMA `GET /c/content_type`)."""
    return [{"enabled": True, "name": name} for name in CONTENT_TYPES]


@curation.get("/exchanges", responses=errors())
def exchanges(_: Principal = Depends(curate)) -> list[str]:
    """Configured exchanges: none (exchange is not built yet)."""
    return []


@curation.get("/exchanges/apis", responses=errors())
def exchange_apis(_: Principal = Depends(curate)) -> list[str]:
    """Installed exchange types: none."""
    return []


@curation.post("/exchanges", responses=errors(400))
def create_exchange(body: Any = Body(None), _: Principal = Depends(curate)) -> Json:
    """HMA's checks, then the answer of an HMA without the exchange type asked for."""
    body = body if isinstance(body, dict) else {}
    bank = body.get("bank")
    if bank is None:
        raise _bad("bank is required")
    if not isinstance(bank, str) or not re.fullmatch(r"[A-Z0-9_]+", bank):
        raise _bad("Field `bank` must match /^[A-Z0-9_]+$/")
    if not isinstance(body.get("api_json", {}), dict):
        raise _bad("Field `api_json` must be object")
    if body.get("api") is None:
        raise _bad("Field `api_type` is required")
    raise _bad(f"No such exchange type '{body['api']}'")


@curation.api_route("/exchanges/api/{api_name}", methods=["GET", "POST"], responses=errors(400))
def exchange_api(api_name: str, _: Principal = Depends(curate)) -> Json:
    raise _bad(f"no such Exchange API '{api_name}'")


@curation.get("/exchanges/api/{api_name}/schema", responses=errors(404))
def exchange_api_schema(api_name: str, _: Principal = Depends(curate)) -> Json:
    raise ApiError(404, f"Exchange API '{api_name}' not found", "not_found")


@curation.get("/exchange/{exchange_name}", responses=errors(404))
def exchange(exchange_name: str, _: Principal = Depends(curate)) -> Json:
    raise ApiError(404, f"Exchange '{exchange_name}' not found", "not_found")


@curation.get("/exchange/{exchange_name}/status", responses=errors(404))
def exchange_status(exchange_name: str, _: Principal = Depends(curate)) -> Json:
    raise ApiError(404, f"Exchange '{exchange_name}' not found", "not_found")


@curation.put("/exchange/{exchange_name}", responses=errors(404))
def update_exchange(exchange_name: str, _: Principal = Depends(curate)) -> Json:
    raise ApiError(404, f"Exchange '{exchange_name}' not found", "not_found")


@curation.delete("/exchange/{exchange_name}", responses=errors())
def delete_exchange(exchange_name: str, _: Principal = Depends(curate)) -> Json:
    """As HMA: `Exchange deleted`, whether or not there was one."""
    return {"message": "Exchange deleted"}
