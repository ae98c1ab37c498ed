"""Hash-list imports run in the background, with progress any server process can report
(the web UI's bank page, docs/ui.md).

`ImportJobs(sg).start(bank, path, fmt, by)` records a `bank_imports` row and imports the list
at `path` on a thread: the whole list is read and checked, then written in one transaction
(all or nothing, as `safeguard bank import`), recorded as done by `by`. The row says how far
it got (written at most every `PROGRESS_EVERY` seconds), then the `ImportReport` or what was
wrong (a bad list names its bad lines); the file at `path` is deleted either way.

Progress lives in the database, so a page polled through any worker of a server can show it.
On SQLite the import's transaction holds the database's only write lock until it commits, so
progress rows are written before and after the writing phase only; the process running the
import reports its own progress from memory meanwhile. A row left "running" by a server that
stopped (nothing written for `STALE_AFTER`, and no thread of this process running it) reads
as failed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select, update

from safeguard.banks.formats import FORMATS, detect_format, format_of_path, read_hash_list
from safeguard.banks.records import ImportReport
from safeguard.errors import InvalidRequest, NotFound, SafeguardError
from safeguard.store.models import utcnow
from safeguard.store.web_tables import BankImport

if TYPE_CHECKING:
    from safeguard.banks.service import BankService
    from safeguard.engine import Safeguard

log = logging.getLogger("safeguard.banks.imports")

#: the shortest time between two progress writes of one import
PROGRESS_EVERY = 0.5
#: a running import with no progress written for this long was stopped (a server restart)
STALE_AFTER = timedelta(minutes=10)
STOPPED = "the import stopped: the server restarted"
_CHUNK = 1 << 20
#: the longest file name kept with an import (the column holds 500 characters)
_NAME_LIMIT = 500


@dataclass(frozen=True)
class ImportJob:
    """One background import: where it stands, and its outcome once finished."""

    id: int
    bank: str
    file_name: str
    fmt: str
    state: str  # running | done | failed
    total: int  # new items to write (known once the list is read and checked)
    done: int  # new items written so far
    records: int  # items in the list (known once it is read and checked)
    report: ImportReport | None
    error: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def message(self) -> str:
        """Where the import stands, in a few words."""
        if self.state == "failed":
            lines = [ln.strip() for ln in self.error.splitlines() if ln.strip()]
            text = "; ".join(lines) or "unknown error"
            return f"failed: {text if len(text) <= 400 else text[:399] + '…'}"
        if self.state == "done" and self.report is not None:
            r = self.report
            return (
                f"done: {r.added:,} added, {r.already_present:,} already present, "
                f"{r.duplicates_in_file:,} duplicate(s) in the file"
            )
        if not self.records:
            return "reading and checking the list"
        if not self.total:
            return f"{self.records:,} items checked; writing"
        return f"{self.done:,} of {self.total:,} new items written"

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "bank": self.bank,
            "file_name": self.file_name,
            "state": self.state,
            "total": self.total,
            "done": self.done,
            "records": self.records,
            "message": self.message,
            "report": self.report.to_json() if self.report else None,
            "error": self.error,
        }


@dataclass
class _Live:
    """Progress of an import this process runs (newer than its row while SQLite's write lock
    keeps the row from being written)."""

    thread: threading.Thread | None = None
    records: int = 0
    total: int = 0
    done: int = 0
    written_at: float = field(default_factory=time.monotonic)


#: imports running in this process, by (database, job id)
_live: dict[tuple[int, int], _Live] = {}
_live_lock = threading.Lock()


def save_upload(src: IO[bytes], file_name: str, limit: int) -> Path:
    """Copy an uploaded file to a temporary file a chunk at a time (never whole in memory);
    InvalidRequest (and nothing left behind) when it is empty or larger than `limit` bytes.
    The caller hands the path to `ImportJobs.start`, which deletes it."""
    suffix = Path(file_name).suffix.lower()
    fd, name = tempfile.mkstemp(
        prefix="safeguard-import-", suffix=suffix if suffix in _SUFFIXES else ""
    )
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InvalidRequest(
                        f"{file_name}: larger than the upload limit of {limit:,} bytes; "
                        "import a file this large with `safeguard bank import`"
                    )
                out.write(chunk)
        if size == 0:
            raise InvalidRequest(f"{file_name or 'the file'} is empty: choose a hash-list file")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


_SUFFIXES = {".jsonl", ".ndjson", ".json", ".csv", ".txt", ".te"}


class ImportJobs:
    """Background imports into the banks of `sg`'s store (see the module's docstring)."""

    def __init__(self, sg: Safeguard) -> None:
        self.sg = sg
        self.db = sg.db
        self._sqlite = sg.db.engine.dialect.name == "sqlite"

    def start(
        self,
        bank: str,
        path: str | os.PathLike[str],
        fmt: str | None,
        by: str,
        *,
        file_name: str = "",
    ) -> int:
        """Import the hash list at `path` into `bank` on a thread, as `by` (an actor name);
        returns the job's id at once. `fmt` is jsonl, csv or txt, or None: from the file's
        name (`file_name`, the name it was uploaded as), else from its first line. The file
        is deleted when the import ends, and at once if it cannot start."""
        path = Path(path)
        name = Path(file_name.replace("\\", "/")).name[:_NAME_LIMIT] or path.name
        try:
            banks = self.sg.banks_for(by)
            banks.require(bank)
            fmt = fmt or format_of_path(name) or detect_format(name, _first_line(path))
            if fmt not in FORMATS:
                raise InvalidRequest(
                    f"unknown hash-list format {fmt!r} (known: {', '.join(FORMATS)})"
                )
            with self.db.write_transaction() as s:
                row = BankImport(
                    bank_name=bank,
                    file_name=name,
                    fmt=fmt,
                    state="running",
                    total=0,
                    done=0,
                    records=0,
                    report={"progress_at": utcnow().isoformat()},
                    error="",
                    started_by=by,
                    started_at=utcnow(),
                )
                s.add(row)
                s.flush()
                job_id = row.id
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        live = _Live()
        thread = threading.Thread(
            target=self._run,
            args=(job_id, banks, bank, path, fmt, name, live),
            name=f"bank-import-{job_id}",
            daemon=True,
        )
        live.thread = thread
        with _live_lock:
            _live[(id(self.db), job_id)] = live
        thread.start()
        return job_id

    def get(self, job_id: int) -> ImportJob:
        """An import by id; NotFound when there is none."""
        with self.db.transaction() as s:
            row = s.get(BankImport, job_id)
            if row is None:
                raise NotFound(f"no bank import {job_id}")
            return self._job(row)

    def recent(self, bank: str, limit: int = 10) -> list[ImportJob]:
        """The newest imports into `bank`, newest first."""
        with self.db.transaction() as s:
            rows = s.scalars(
                select(BankImport)
                .where(BankImport.bank_name == bank)
                .order_by(BankImport.id.desc())
                .limit(limit)
            ).all()
            return [self._job(r) for r in rows]

    def wait(self, job_id: int, timeout: float | None = None) -> ImportJob:
        """The import once its thread in this process has ended (or `timeout` passed)."""
        with _live_lock:
            live = _live.get((id(self.db), job_id))
        if live is not None and live.thread is not None:
            live.thread.join(timeout)
        return self.get(job_id)

    # -- the thread ------------------------------------------------------------------------

    def _run(
        self,
        job_id: int,
        banks: BankService,
        bank: str,
        path: Path,
        fmt: str,
        name: str,
        live: _Live,
    ) -> None:
        try:
            records = read_hash_list(path, fmt)
            live.records = len(records)
            self._write(job_id, records=len(records))
            report = banks.import_records(
                bank,
                records,
                source=name,
                on_progress=lambda done, total: self._progress(job_id, live, done, total),
            )
            self._finish(job_id, "done", report=report)
        except SafeguardError as e:
            self._finish(job_id, "failed", error=e.message.replace(str(path), name))
        except Exception:
            log.exception("bank import %s into %s failed", job_id, bank)
            self._finish(
                job_id, "failed", error="the import failed on an unexpected error (see the log)"
            )
        finally:
            path.unlink(missing_ok=True)
            with _live_lock:
                _live.pop((id(self.db), job_id), None)

    def _progress(self, job_id: int, live: _Live, done: int, total: int) -> None:
        live.done, live.total = done, total
        now = time.monotonic()
        # SQLite: this runs inside the import's transaction, which holds the write lock
        if self._sqlite or now - live.written_at < PROGRESS_EVERY:
            return
        live.written_at = now
        self._write(job_id, done=done, total=total)

    def _write(self, job_id: int, **values: Any) -> None:
        with self.db.write_transaction() as s:
            s.execute(
                update(BankImport)
                .where(BankImport.id == job_id, BankImport.state == "running")
                .values(report={"progress_at": utcnow().isoformat()}, **values)
            )

    def _finish(
        self, job_id: int, state: str, *, report: ImportReport | None = None, error: str = ""
    ) -> None:
        values: dict[str, Any] = {"state": state, "error": error, "finished_at": utcnow()}
        if report is not None:
            values |= {"report": report.to_json(), "done": report.added, "total": report.added}
        else:
            values["report"] = {}
        try:
            with self.db.write_transaction() as s:
                s.execute(update(BankImport).where(BankImport.id == job_id).values(**values))
        except Exception:  # the store is gone (a server stopping): the row reads as stale
            log.exception("bank import %s: could not record its outcome", job_id)

    # -- reading ---------------------------------------------------------------------------

    def _job(self, row: BankImport) -> ImportJob:
        state, error = row.state, row.error
        records, total, done = row.records, row.total, row.done
        report_json: dict[str, Any] = dict(row.report or {})
        report = None
        if state == "done" and "added" in report_json:
            report = ImportReport(
                bank=str(report_json.get("bank", row.bank_name)),
                lines=int(report_json.get("lines", 0)),
                added=int(report_json.get("added", 0)),
                already_present=int(report_json.get("already_present", 0)),
                duplicates_in_file=int(report_json.get("duplicates_in_file", 0)),
            )
        if state == "running":
            with _live_lock:
                live = _live.get((id(self.db), row.id))
            if live is not None:
                records = max(records, live.records)
                total, done = max(total, live.total), max(done, live.done)
            elif utcnow() - _progress_at(row, report_json) > STALE_AFTER:
                state, error = "failed", STOPPED
        return ImportJob(
            id=row.id,
            bank=row.bank_name,
            file_name=row.file_name,
            fmt=row.fmt,
            state=state,
            total=total,
            done=done,
            records=records,
            report=report,
            error=error,
            started_by=row.started_by,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )


def _progress_at(row: BankImport, report: dict[str, Any]) -> datetime:
    at = row.started_at
    with contextlib.suppress(TypeError, ValueError):
        at = max(at, datetime.fromisoformat(str(report.get("progress_at"))))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _first_line(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024).decode("utf-8", errors="replace")
    return next((ln for ln in head.splitlines() if ln.strip()), "")
