"""`/v1/hash`: the signals (PDQ, MD5, SHA-256) of an uploaded file. Scope: hash."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, UploadFile

from safeguard.api.auth import require
from safeguard.api.models import FileSignalsOut
from safeguard.api.routes.common import errors, hash_upload
from safeguard.api.runtime import Runtime, runtime

router = APIRouter(prefix="/v1", tags=["hash"], dependencies=[Depends(require("hash"))])


@router.post("/hash", response_model=FileSignalsOut, responses=errors(400, 413, 415, 503))
async def hash_one(
    file: UploadFile = File(description="the file to hash"), rt: Runtime = Depends(runtime)
) -> dict[str, object]:
    """Hash one file. A file that is not a readable image still gets its digests, with
    `error` and `error_code` saying why there is no PDQ. An image over the pixel limit or
    the decode memory is refused with 413; 503 with Retry-After while decodes are busy."""
    return (await hash_upload(rt, file)).to_json()
