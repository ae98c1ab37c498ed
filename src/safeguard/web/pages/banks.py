"""Banks: the list with kinds, thresholds and match settings; a bank's settings, its entries
newest first with their provenance (a case decision links to its case), its quarantined
entries; for admins, new banks, settings, releasing a quarantined entry, and importing a
hash list in the background with a live progress bar (`safeguard.banks.imports`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import UploadFile

from safeguard.banks.formats import FORMATS
from safeguard.banks.imports import ImportJob, ImportJobs, save_upload
from safeguard.errors import Forbidden, InvalidRequest, NotFound
from safeguard.web.render import HtmlRoute, after_post, page
from safeguard.web.session import Posted, Viewer, posted, viewer

router = APIRouter(route_class=HtmlRoute)

PAGE = 50


def _see(who: Viewer) -> None:
    who.actor.require(who.sees_cases, "see banks")


def _tunable(who: Viewer) -> list[dict[str, Any]]:
    """The signal types a bank sets a threshold for, with their allowed range."""
    return [
        {
            "name": t.name,
            "max": t.max_threshold,
            "default": t.default_threshold,
            "about": t.description,
        }
        for t in who.sg.signal_types(listable=True).values()
        if not t.exact
    ]


@router.get("/banks", response_class=HTMLResponse)
def banks(request: Request, who: Viewer = Depends(viewer)) -> Response:
    _see(who)
    return page(
        request,
        "banks.html",
        who,
        title="Banks",
        banks=who.sg.banks_for(who.actor.name).list(),
        types=_tunable(who),
        admin=who.actor.is_admin,
    )


@router.post("/banks")
def create(request: Request, form: Posted = Depends(posted)) -> Response:
    who = form.who
    who.actor.require_admin("create banks")
    name = form.text("name")

    def act() -> str:
        b = who.sg.banks_for(who.actor.name).create(
            name,
            negative=bool(form.text("negative")),
            description=form.text("description")[:2000],
        )
        kind = "negative bank" if b.negative else "bank"
        return f"{kind} {b.name} created"

    return after_post(request, "/ui/banks", act, then=f"/ui/banks/{name}")


@router.get("/banks/{name}", response_class=HTMLResponse)
def bank(
    request: Request, name: str, before: int | None = None, who: Viewer = Depends(viewer)
) -> Response:
    _see(who)
    service = who.sg.banks_for(who.actor.name)
    info = service.get(name)
    entries = service.content_page(name, before=before, newest_first=True, limit=PAGE)
    quarantined, quarantine_note = [], ""
    try:
        quarantined = [q for q in who.sg.floods.list(who.actor) if q.bank == info.name]
    except Forbidden:
        quarantine_note = "Quarantined entries are shown to child-safety specialists and admins."
    return page(
        request,
        "bank.html",
        who,
        title=f"Bank {info.name}",
        b=info,
        entries=entries,
        before=before,
        older=entries[-1].id if len(entries) == PAGE else None,
        quarantined=quarantined,
        quarantine_note=quarantine_note,
        imports=ImportJobs(who.sg).recent(info.name),
        types=_tunable(who),
        formats=list(FORMATS),
        admin=who.actor.is_admin,
        max_upload=who.runtime.service.max_upload_bytes,
    )


@router.post("/banks/{name}/settings")
def settings(request: Request, name: str, form: Posted = Depends(posted)) -> Response:
    who = form.who
    who.actor.require_admin("change bank settings")

    def act() -> str:
        thresholds = {}
        for t in _tunable(who):
            raw = form.text(f"threshold_{t['name']}")
            if not raw:
                continue
            if not raw.isdigit():
                raise InvalidRequest(
                    f"the {t['name']} threshold is a whole number from 0 to {t['max']}"
                )
            thresholds[t["name"]] = int(raw)
        b = who.sg.banks_for(who.actor.name).update(
            name,
            thresholds=thresholds,
            enabled=bool(form.text("enabled")),
            description=form.text("description")[:2000],
        )
        return f"bank {b.name} saved"

    return after_post(request, f"/ui/banks/{name}#settings-h", act)


@router.post("/banks/{name}/import")
def start_import(request: Request, name: str, form: Posted = Depends(posted)) -> Response:
    """Save the uploaded list (a chunk at a time, within the upload limit) and import it in
    the background; on to the page that shows its progress."""
    who = form.who
    who.actor.require_admin("import hash lists")
    started: list[int] = []

    def act() -> str:
        upload = form.form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidRequest("choose a hash-list file to import")
        jobs = ImportJobs(who.sg)
        who.sg.banks_for(who.actor.name).require(name)
        path = save_upload(upload.file, upload.filename, who.runtime.service.max_upload_bytes)
        fmt = form.text("fmt") or None
        started.append(jobs.start(name, path, fmt, who.actor.name, file_name=upload.filename))
        return f"import of {upload.filename} into {name} started"

    response = after_post(request, f"/ui/banks/{name}#import-h", act)
    if started:
        response.headers["location"] = f"/ui/banks/{name}/imports/{started[0]}"
    return response


@router.get("/banks/{name}/imports/{job_id:int}.json")
def import_progress(
    request: Request, name: str, job_id: int, who: Viewer = Depends(viewer)
) -> Response:
    """Where an import stands, for the progress bar (polled by app.js)."""
    _see(who)
    return JSONResponse(_job(who, name, job_id).to_json())


@router.get("/banks/{name}/imports/{job_id:int}", response_class=HTMLResponse)
def import_page(
    request: Request, name: str, job_id: int, who: Viewer = Depends(viewer)
) -> Response:
    _see(who)
    job = _job(who, name, job_id)
    return page(request, "bank_import.html", who, title=f"Import into {name}", job=job)


def _job(who: Viewer, name: str, job_id: int) -> ImportJob:
    job = ImportJobs(who.sg).get(job_id)
    if job.bank != name:
        raise NotFound(f"no import {job_id} into bank {name!r}")
    return job


@router.post("/banks/{name}/quarantine/{content_id:int}/release")
def release(
    request: Request, name: str, content_id: int, form: Posted = Depends(posted)
) -> Response:
    who = form.who

    def act() -> str:
        q = who.sg.floods.release(content_id, who.actor)
        return f"entry {q.content_id} released: its matches count in full again"

    return after_post(request, f"/ui/banks/{name}#quarantine-h", act)
