"""`/v1/hash`: the signals (PDQ, MD5, SHA-256) of an uploaded file. Scope: hash."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, UploadFile
from starlette.concurrency import run_in_threadpool

from safeguard.api.app import Runtime, runtime
from safeguard.api.auth import require
from safeguard.api.models import FileSignalsOut
from safeguard.api.routes.common import errors
from safeguard.api.uploads import read_upload

router = APIRouter(prefix="/v1", tags=["hash"], dependencies=[Depends(require("hash"))])


@router.post("/hash", response_model=FileSignalsOut, responses=errors(400, 413, 415))
async def hash_upload(
    file: UploadFile = File(description="the file to hash"), rt: Runtime = Depends(runtime)
) -> dict[str, object]:
    """Hash one file. A file that is not a readable image still gets its digests, with
    `error` and `error_code` saying why there is no PDQ."""
    data = await read_upload(file, rt.service.max_upload_bytes)
    result = await run_in_threadpool(rt.sg.hash_bytes, data, file.filename or "upload")
    return result.to_json()
