"""`safeguard evidence ...`: preserved media of cases, encrypted at rest, on a retention
clock: keys, preserving, listing, exporting, clocks, legal holds, the purge and rotation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import typer

from safeguard.cli.context import state
from safeguard.cli.output import err_console, out_console, print_json
from safeguard.errors import FileProblem, InvalidRequest
from safeguard.evidence import (
    KEY_FILE_ENV,
    REASONS,
    EvidenceInfo,
    EvidenceStore,
    new_key_line,
    purge,
)
from safeguard.store import Database

app = typer.Typer(
    help="Preserved evidence: encrypted media of cases, retention clocks, legal holds.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON.")
CASE = typer.Option(None, "--case", help="Every live item of this case.")
NOTE = typer.Option("", "--note", help="Why (recorded in the audit log).")

T = TypeVar("T")


@contextmanager
def _store() -> Iterator[EvidenceStore]:
    settings = state.get_settings()
    db = Database.open(settings.database_url)
    try:
        yield EvidenceStore(db, settings, state.actor(db))
    finally:
        db.close()


def _with_store(fn: Callable[[EvidenceStore], T]) -> T:
    with _store() as store:
        return fn(store)


def _instant(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time (UTC when it names no zone)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest(
            f"{option}: not an ISO 8601 date or time: {text!r} (e.g. 2027-01-31 or "
            "2027-01-31T12:00:00Z)"
        ) from None


def _line(e: EvidenceInfo) -> str:
    head = f"evidence {e.id} case {e.case_id}"
    if e.deleted_at:
        return f"{head}: deleted {e.deleted_at:%Y-%m-%d} ({e.deleted_reason})"
    clock = (
        f"kept until {e.retain_until:%Y-%m-%d %H:%M} UTC ({e.clock_reason})"
        if e.retain_until
        else "no clock (case undecided)"
    )
    hold = ", legal hold" if e.legal_hold else ""
    return f"{head} {e.name!r} {e.size} bytes key {e.key_id}: {clock}{hold}"


def _show(items: list[EvidenceInfo], json_output: bool) -> None:
    if json_output:
        print_json([e.to_json() for e in items])
        return
    for e in items:
        out_console.print(_line(e), markup=False)


@app.command("new-key")
def new_key() -> None:
    """Print a fresh key line (`key_id:base64key`) for the evidence key file."""
    out_console.print(new_key_line(), markup=False)
    err_console.print(
        f"append it to the file {KEY_FILE_ENV} names (mode 600); the last line encrypts, "
        "the lines above it still decrypt",
        markup=False,
    )


@app.command("list")
def list_evidence(
    case: int | None = typer.Option(None, "--case", help="Only this case's evidence."),
    all_items: bool = typer.Option(False, "--all", help="Include deleted items."),
    json_output: bool = JSON,
) -> None:
    """Preserved evidence (records, never contents), oldest first."""
    _show(_with_store(lambda s: s.list(case_id=case, include_deleted=all_items)), json_output)


@app.command("preserve")
def preserve(
    case_id: int,
    file: Path,
    name: str | None = typer.Option(
        None, "--name", help="The name to record (default: the file's)."
    ),
    json_output: bool = JSON,
) -> None:
    """Encrypt a file into a case's evidence."""
    try:
        data = file.read_bytes()
    except OSError as e:
        raise FileProblem(f"cannot read {file}: {e.strerror}") from None
    info = _with_store(lambda s: s.preserve(case_id, data, name or file.name))
    if json_output:
        print_json(info.to_json())
    else:
        out_console.print(_line(info), markup=False)


@app.command("export")
def export(
    evidence_id: int,
    out: Path = typer.Option(..., "--out", help="A new file to write the decrypted media to."),
    json_output: bool = JSON,
) -> None:
    """Decrypt an item into a new file (audited)."""
    info = _with_store(lambda s: s.export(evidence_id, out))
    if json_output:
        print_json({**info.to_json(), "out": str(out)})
    else:
        err_console.print(f"wrote evidence {info.id} ({info.size} bytes) to {out}", markup=False)


@app.command("clock")
def clock(
    case_id: int,
    reason: str = typer.Option(..., "--reason", help=f"What starts it: {', '.join(REASONS)}."),
    at: str | None = typer.Option(None, "--at", help="When (ISO 8601; default now)."),
    json_output: bool = JSON,
) -> None:
    """Start or extend the retention clock of a case's evidence (never shortens it)."""
    when = _instant(at, "--at") or datetime.now().astimezone()

    def run(s: EvidenceStore) -> tuple[int, list[EvidenceInfo]]:
        return s.start_clock(case_id, reason, when), s.list(case_id=case_id)

    moved, items = _with_store(run)
    if json_output:
        print_json(
            {
                "case_id": case_id,
                "reason": reason,
                "updated": moved,
                "items": [e.to_json() for e in items],
            }
        )
        return
    err_console.print(f"{moved} item(s) of case {case_id} got a later deadline", markup=False)
    _show(items, False)


@app.command("hold")
def hold(
    evidence_id: int | None = typer.Argument(None, help="The item (or use --case)."),
    case: int | None = CASE,
    note: str = NOTE,
    json_output: bool = JSON,
) -> None:
    """Put a legal hold on an item or a case's items: nothing deletes them until released."""
    _show(_with_store(lambda s: s.hold(evidence_id, case_id=case, note=note)), json_output)


@app.command("release")
def release(
    evidence_id: int | None = typer.Argument(None, help="The item (or use --case)."),
    case: int | None = CASE,
    note: str = NOTE,
    json_output: bool = JSON,
) -> None:
    """Release a legal hold: the item's retention clock counts again."""
    _show(_with_store(lambda s: s.release_hold(evidence_id, case_id=case, note=note)), json_output)


@app.command("purge")
def purge_command(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Purge as if it were this time (ISO 8601; default now)."
    ),
    json_output: bool = JSON,
) -> None:
    """Delete every item whose retention clock ran out and that no legal hold keeps."""
    now = _instant(as_of, "--as-of") or datetime.now().astimezone()
    settings = state.get_settings()
    db = Database.open(settings.database_url)
    try:
        report = purge(db, settings, now, actor=state.actor(db))
    finally:
        db.close()
    if json_output:
        print_json(report.to_json())
    else:
        out_console.print(
            f"deleted {len(report.deleted)} item(s) ({len(report.missing_files)} whose file "
            f"was already missing); {len(report.held)} kept by a legal hold; "
            f"{len(report.failed)} failed",
            markup=False,
        )
        for item_id, why in report.failed:
            err_console.print(f"evidence {item_id}: {why}", markup=False)
    if report.failed:
        raise typer.Exit(1)


@app.command("rotate")
def rotate(json_output: bool = JSON) -> None:
    """Re-encrypt every live item under the current key (the key file's last line)."""
    report = _with_store(lambda s: s.rotate())
    if json_output:
        print_json(report.to_json())
    else:
        out_console.print(
            f"re-encrypted {len(report.rotated)} item(s) under key {report.key_id} "
            f"({report.already_current} already were); {len(report.failed)} failed; "
            f"{report.remaining} still under older keys",
            markup=False,
        )
        for item_id, why in report.failed:
            err_console.print(f"evidence {item_id}: {why}", markup=False)
    if report.failed:
        raise typer.Exit(1)
