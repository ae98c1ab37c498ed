"""`/v1/banks...`: create and curate banks and their content; import and export hash lists.
Scope: curate. Every change is recorded in the change log with the key's name as actor, and
this process's index applies it before the response is sent (others follow within about a
second).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from safeguard.api.auth import Principal, require
from safeguard.api.errors import ApiError
from safeguard.api.models import (
    FORMAT_SPEC,
    SIGNAL_TYPE_SPEC,
    TEXT_SPEC,
    AddOut,
    BankCreate,
    BankOut,
    BankPatch,
    ContentIn,
    ContentOut,
    ContentPage,
    ContentPatch,
    FileAddOut,
    ImportOut,
    thresholds_of,
)
from safeguard.api.routes.common import (
    ContentId,
    after_query,
    bank_json,
    content_json,
    errors,
    hash_upload,
)
from safeguard.api.runtime import Runtime, runtime
from safeguard.banks import Provenance
from safeguard.banks.admission import Admission, admit
from safeguard.banks.formats import FORMATS, parse_hash_list
from safeguard.errors import FileProblem

curate = require("curate")
router = APIRouter(prefix="/v1/banks", tags=["curate"])

_MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv", "txt": "text/plain"}


def attachment(filename: str) -> str:
    """A `Content-Disposition` for downloading `filename`, whatever characters it holds
    (RFC 6266): `filename=` an ASCII stand-in (anything else, and quotes, backslashes and
    '%', as '_'), and `filename*=` the exact name as percent-encoded UTF-8."""
    plain = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in filename)
    exact = quote(filename, safe="", errors="replace")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{exact}"


@router.get("", response_model=list[BankOut], responses=errors())
def list_banks(
    rt: Runtime = Depends(runtime), who: Principal = Depends(curate)
) -> list[dict[str, object]]:
    """Every bank with its settings and counts."""
    return [bank_json(b) for b in rt.banks(who.actor).list()]


@router.post("", status_code=201, response_model=BankOut, responses=errors(400, 409))
def create_bank(
    body: BankCreate, rt: Runtime = Depends(runtime), who: Principal = Depends(curate)
) -> dict[str, object]:
    """Create a bank."""
    info = rt.sg.create_bank(
        body.name,
        thresholds=thresholds_of(body),
        actor=who.actor,
        negative=body.negative,
        description=body.description,
        dihedral=body.dihedral,
        trim_borders=body.trim_borders,
        local_features=body.local_features,
    )
    return bank_json(info)


@router.get("/{name}", response_model=BankOut, responses=errors(404))
def get_bank(
    name: str, rt: Runtime = Depends(runtime), who: Principal = Depends(curate)
) -> dict[str, object]:
    return bank_json(rt.banks(who.actor).get(name))


@router.patch("/{name}", response_model=BankOut, responses=errors(400, 404, 409))
def update_bank(
    name: str, body: BankPatch, rt: Runtime = Depends(runtime), who: Principal = Depends(curate)
) -> dict[str, object]:
    """Change a bank's settings in one transaction; `enabled: false` takes it out of
    matching, `name` renames it (content ids stay the same)."""
    info = rt.sg.update_bank(
        name,
        thresholds=thresholds_of(body),
        actor=who.actor,
        new_name=body.name,
        enabled=body.enabled,
        negative=body.negative,
        description=body.description,
        match_ratio=body.match_ratio,
        dihedral=body.dihedral,
        trim_borders=body.trim_borders,
        local_features=body.local_features,
    )
    return bank_json(info)


@router.delete("/{name}", status_code=204, responses=errors(404))
def delete_bank(
    name: str, rt: Runtime = Depends(runtime), who: Principal = Depends(curate)
) -> Response:
    """Delete a bank and all its content."""
    rt.banks(who.actor).delete(name)
    return Response(status_code=204)


@router.get("/{name}/content", response_model=ContentPage, responses=errors(404))
def list_content(
    name: str,
    after: int = after_query("content"),
    limit: int = Query(100, ge=1, le=1000),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> dict[str, object]:
    """A page of a bank's content, in id order."""
    items = rt.banks(who.actor).content_page(name, after=after, limit=limit)
    return {
        "items": [content_json(c) for c in items],
        "next_after": items[-1].id if len(items) == limit else None,
    }


@router.post(
    "/{name}/content",
    status_code=201,
    response_model=AddOut,
    responses={**errors(400, 404), 200: {"model": AddOut, "description": "Already in the bank"}},
)
def add_content(
    name: str,
    body: ContentIn,
    response: Response,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> dict[str, object]:
    """Add one item by its hashes. 201 when new; 200 with `created: false` when the bank
    already held it."""
    prov = Provenance(
        source=body.source, external_id=body.external_id, note=body.note, tags=tuple(body.tags)
    )
    added = rt.banks(who.actor).add(name, body.signals, prov)
    response.status_code = 201 if added.created else 200
    return {"content_id": added.content_id, "created": added.created}


@router.post(
    "/{name}/files",
    response_model=FileAddOut,
    responses={**errors(400, 404, 413, 415), 201: {"model": FileAddOut}},
)
async def add_file(
    name: str,
    response: Response,
    file: UploadFile = File(description="the file to hash and add"),
    source: str = Form("", max_length=500, json_schema_extra=TEXT_SPEC),
    external_id: str | None = Form(None, max_length=500, json_schema_extra=TEXT_SPEC),
    note: str = Form("", max_length=10_000, json_schema_extra=TEXT_SPEC),
    any_file: bool = Form(
        False, description="bank a file that is not an image, or a corrupt one, by its digests"
    ),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> dict[str, object]:
    """Hash an uploaded image and add its signals (the file itself is not kept). A file that
    is not an image, or cannot be decoded, is refused unless `any_file` is set."""
    banks = rt.banks(who.actor)
    await run_in_threadpool(banks.require, name)  # unknown bank: 404 before hashing
    signals = await hash_upload(rt, file, "add")
    if admit(signals, named=True, any_file=any_file) is Admission.REFUSE:
        hint = "; not banked (any_file=true banks it by its digests)" if signals.signals() else ""
        raise FileProblem(
            f"{signals.error or 'no signal'}{hint}", signals.error_code or "unreadable"
        )
    prov = Provenance(source=source, external_id=external_id, note=note)
    added = await run_in_threadpool(lambda: rt.sg.add_hashed(name, signals, prov, actor=who.actor))
    response.status_code = 201 if added.created else 200
    return {"content_id": added.content_id, "created": added.created, "file": signals.to_json()}


@router.get("/{name}/content/{content_id}", response_model=ContentOut, responses=errors(404))
def get_content(
    name: str,
    content_id: ContentId,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> dict[str, object]:
    return content_json(rt.banks(who.actor).get_content(content_id, name))


@router.patch("/{name}/content/{content_id}", response_model=ContentOut, responses=errors(400, 404))
def update_content(
    name: str,
    content_id: ContentId,
    body: ContentPatch,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> dict[str, object]:
    """Switch an item off until a time (it stays in the bank but does not match)."""
    info = rt.banks(who.actor).set_content_disabled(name, content_id, body.disabled_until)
    return content_json(info)


@router.delete("/{name}/content/{content_id}", status_code=204, responses=errors(404))
def remove_content(
    name: str,
    content_id: ContentId,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> Response:
    rt.banks(who.actor).remove_content(name, content_id)
    return Response(status_code=204)


@router.post(
    "/{name}/import",
    response_model=ImportOut,
    responses=errors(400, 404, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "a hash list: JSON Lines, CSV or one hash per line",
            "content": {m: {"schema": {"type": "string"}} for m in _MEDIA.values()},
        }
    },
)
async def import_list(
    name: str,
    request: Request,
    format: str | None = Query(
        None, description="jsonl, csv or txt (default: detected)", json_schema_extra=FORMAT_SPEC
    ),
    signal_type: str | None = Query(
        None,
        description="for txt lists: the type of every line",
        json_schema_extra=SIGNAL_TYPE_SPEC,
    ),
    source: str = Query(
        "",
        max_length=500,
        description="recorded as the source of every item",
        json_schema_extra=TEXT_SPEC,
    ),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> dict[str, object]:
    """Validate a whole hash list, then add it in one transaction: all of it or nothing."""
    banks = rt.banks(who.actor)
    await run_in_threadpool(banks.require, name)
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "the hash list is not UTF-8 text", "invalid_hash_list") from None
    label = f"upload.{format}" if format else "upload"
    records = await run_in_threadpool(
        lambda: parse_hash_list(text, label, format, signal_type=signal_type)
    )
    report = await run_in_threadpool(
        lambda: banks.import_records(name, records, source=source or "http-import")
    )
    return report.to_json()


@router.get(
    "/{name}/export",
    responses={
        **errors(400, 404),
        200: {"content": {m: {"schema": {"type": "string"}} for m in _MEDIA.values()}},
    },
    response_class=StreamingResponse,
)
def export_list(
    name: str,
    format: str = Query("jsonl", description="jsonl, csv or txt", json_schema_extra=FORMAT_SPEC),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(curate),
) -> StreamingResponse:
    """The bank's content as a hash list (written to a spool file, then streamed)."""
    if format not in FORMATS:
        raise ApiError(
            400, f"unknown format {format!r} (known: {', '.join(FORMATS)})", "invalid_request"
        )
    banks = rt.banks(who.actor)
    banks.require(name)
    # closed by the generator below, once the response has been sent
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8")  # noqa: SIM115
    report = banks.export(name, spool, format)
    spool.seek(0)

    def chunks() -> Iterator[str]:
        with spool:
            while block := spool.read(1 << 16):
                yield block

    return StreamingResponse(
        chunks(),
        media_type=_MEDIA[format],
        headers={
            "Content-Disposition": attachment(f"{name}.{format}"),
            # what the list cannot carry: items whose local features (crop matching) stay here
            "X-Local-Features-Not-Exported": str(report.local_features),
        },
    )
