"""`safeguard bank ...`: create and curate hash banks, add content, import and export lists."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import TextIO

import typer
from rich.table import Table

from safeguard.banks import BankInfo, Provenance
from safeguard.banks.admission import Admission, admit
from safeguard.banks.formats import FORMATS, format_of_path
from safeguard.cli.context import state
from safeguard.cli.output import err_console, out_console, print_json, reporter
from safeguard.engine import parse_thresholds, signal_types
from safeguard.errors import ImportFormatError, InvalidRequest, SafeguardError
from safeguard.signals.files import iter_input_files

app = typer.Typer(help="Create and curate hash banks.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
#: the signal types of hash lists, for help texts
_LISTED = ", ".join(signal_types(listable=True))
_NON_EXACT = ", ".join(
    f"{n} {t.default_threshold} (0-{t.max_threshold})"
    for n, t in signal_types().items()
    if not t.exact
)
_THRESHOLD_HELP = (
    "Distance threshold as TYPE=N (repeat for several types; defaults: "
    f"{_NON_EXACT}); a bare N sets the one perceptual hash type of hash lists."
)


def _thresholds_text(info: BankInfo) -> str:
    return ", ".join(f"{t} {n}" for t, n in info.thresholds.items())


def _show(info: BankInfo, json_output: bool) -> None:
    if json_output:
        print_json(info.to_json())
        return
    kind = "negative (suppresses matches)" if info.negative else "positive"
    counts = ", ".join(f"{n} {t}" for t, n in info.signal_counts.items()) or "no signals"
    out_console.print(
        f"[bold]{info.name}[/]  {kind}, {'enabled' if info.enabled else 'DISABLED'}, "
        f"thresholds {_thresholds_text(info)}"
        + (", rotations and flips" if info.dihedral else "")
        + (", borders trimmed" if info.trim_borders else "")
        + (", local features (crops)" if info.local_features else "")
        + "\n"
        f"  {info.content_count} content item(s): {counts}\n"
        f"  created {info.created_at:%Y-%m-%d %H:%M} UTC by {info.created_by}"
        + (f"\n  {info.description}" if info.description else "")
    )


@app.command("create")
def create(
    name: str,
    threshold: list[str] = typer.Option([], "--threshold", help=_THRESHOLD_HELP),
    negative: bool = typer.Option(
        False, "--negative", help="Known false positives: suppress other banks' matches."
    ),
    description: str = typer.Option("", "--description", "-d"),
    dihedral: bool = typer.Option(
        True, "--dihedral/--no-dihedral", help="Also match rotated and mirrored copies."
    ),
    trim_borders: bool = typer.Option(
        True, "--trim-borders/--no-trim-borders", help="Also match the picture in a border."
    ),
    local_features: bool = typer.Option(
        True,
        "--local-features/--no-local-features",
        help="Keep images' local features to match cropped copies (about 12 KB per image).",
    ),
    json_output: bool = JSON,
) -> None:
    """Create a bank."""
    with state.open() as sg:
        _show(
            sg.create_bank(
                name,
                thresholds=parse_thresholds(threshold),
                negative=negative,
                description=description,
                dihedral=dihedral,
                trim_borders=trim_borders,
                local_features=local_features,
            ),
            json_output,
        )


@app.command("list")
def list_banks(json_output: bool = JSON) -> None:
    """List banks with their settings and sizes."""
    with state.open() as sg:
        banks = sg.banks.list()
    if json_output:
        print_json([b.to_json() for b in banks])
        return
    if not banks:
        out_console.print("no banks yet: create one with `safeguard bank create NAME`")
        return
    table = Table("name", "kind", "enabled", "thresholds", "content", "signals")
    for b in banks:
        table.add_row(
            b.name,
            "negative" if b.negative else "positive",
            "yes" if b.enabled else "no",
            _thresholds_text(b),
            str(b.content_count),
            ", ".join(f"{n} {t}" for t, n in b.signal_counts.items()),
        )
    out_console.print(table)


@app.command("show")
def show(name: str, json_output: bool = JSON) -> None:
    """Show one bank."""
    with state.open() as sg:
        _show(sg.banks.get(name), json_output)


@app.command("update")
def update(
    name: str,
    threshold: list[str] = typer.Option([], "--threshold", help=_THRESHOLD_HELP),
    negative: bool | None = typer.Option(None, "--negative/--positive"),
    description: str | None = typer.Option(None, "--description", "-d"),
    dihedral: bool | None = typer.Option(None, "--dihedral/--no-dihedral"),
    trim_borders: bool | None = typer.Option(None, "--trim-borders/--no-trim-borders"),
    local_features: bool | None = typer.Option(None, "--local-features/--no-local-features"),
    json_output: bool = JSON,
) -> None:
    """Change a bank's threshold, kind, description or matching options."""
    with state.open() as sg:
        _show(
            sg.update_bank(
                name,
                thresholds=parse_thresholds(threshold),
                negative=negative,
                description=description,
                dihedral=dihedral,
                trim_borders=trim_borders,
                local_features=local_features,
            ),
            json_output,
        )


@app.command("rename")
def rename(name: str, new_name: str, json_output: bool = JSON) -> None:
    """Rename a bank (content ids do not change)."""
    with state.open() as sg:
        _show(sg.banks.rename(name, new_name), json_output)


@app.command("enable")
def enable(name: str, json_output: bool = JSON) -> None:
    """Match against this bank again."""
    with state.open() as sg:
        _show(sg.banks.set_enabled(name, True), json_output)


@app.command("disable")
def disable(name: str, json_output: bool = JSON) -> None:
    """Stop matching against this bank, keeping its content."""
    with state.open() as sg:
        _show(sg.banks.set_enabled(name, False), json_output)


@app.command("delete")
def delete(
    name: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Confirm deleting a bank with content."),
    json_output: bool = JSON,
) -> None:
    """Delete a bank and all its content."""
    with state.open() as sg:
        info = sg.banks.get(name)
        if info.content_count and not yes:
            if not sys.stdin.isatty():
                raise InvalidRequest(
                    f"bank {name!r} holds {info.content_count} item(s); pass --yes to delete it"
                )
            typer.confirm(f"Delete bank {name!r} and its {info.content_count} item(s)?", abort=True)
        removed = sg.banks.delete(name)
    if json_output:
        print_json({"bank": name, "deleted": True, "content_removed": removed})
    else:
        out_console.print(f"deleted bank {name} ({removed} item(s))")


@app.command("add")
def add(
    name: str,
    paths: list[Path] = typer.Argument(..., help="Files and directories to hash and add."),
    source: str = typer.Option("", "--source", help="Where this content came from."),
    external_id: str | None = typer.Option(
        None, "--external-id", help="The source's id (only with a single file)."
    ),
    note: str = typer.Option("", "--note"),
    tags: list[str] = typer.Option([], "--tag", help="A tag (repeat for several)."),
    any_file: bool = typer.Option(
        False,
        "--any-file",
        help="Also bank files that are not images, and corrupt images, by their MD5 and SHA-256.",
    ),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1),
    json_output: bool = typer.Option(False, "--json", help="One JSON object per file."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Hash image files and add them to a bank. Adding a file already in the bank adds nothing.

    Files in directories that are not images are skipped; a named one, or a corrupt image,
    is an error and is not banked (--any-file banks them by their digests)."""
    named = {os.fspath(p) for p in paths if not p.is_dir()}
    counts = {"added": 0, "already present": 0, "skipped": 0, "errors": 0}
    with state.open() as sg, reporter(progress) as out:
        sg.banks.get(name)
        items = list(iter_input_files(paths))
        if external_id is not None and len(items) != 1:
            raise InvalidRequest("--external-id applies to a single file")
        out.start(len(items), f"adding to {name}")
        prov = Provenance(source=source, external_id=external_id, note=note, tags=tuple(tags))
        for fs in sg.hash_items(items, workers=workers, purpose="add"):
            out.advance()
            record: dict[str, object] = {"path": fs.path, "bank": name}
            not_image = fs.error_code == "not_an_image"
            verdict = admit(fs, named=fs.path in named, any_file=any_file)
            if verdict is Admission.SKIP:
                counts["skipped"] += 1
                record.update(skipped=True, reason=fs.error, reason_code=fs.error_code)
                out.warn(f"skipped: {fs.path}: {fs.error} (--any-file banks it by its digests)")
            elif verdict is Admission.REFUSE:
                counts["errors"] += 1
                hint = "; not banked (--any-file banks it by its digests)" if fs.signals() else ""
                record.update(error=f"{fs.error}{hint}", error_code=fs.error_code)
                out.warn(f"error: {fs.path}: {fs.error}{hint}")
            else:
                added = sg.add_hashed(name, fs, prov)
                counts["added" if added.created else "already present"] += 1
                record.update(
                    content_id=added.content_id, created=added.created, signals=sorted(fs.signals())
                )
                if fs.low_quality:
                    record["low_quality"] = True
                    quality = ", ".join(f"{t} {q}" for t, q in fs.quality.items())
                    out.warn(f"warning: {fs.path}: low quality ({quality})")
                if not fs.ok:  # digests added, but no PDQ
                    record["digest_only"] = True
                    if not_image:  # asked for with --any-file: not an error
                        record["reason"] = fs.error
                    else:
                        counts["errors"] += 1
                        record.update(error=fs.error, error_code=fs.error_code)
                        out.warn(f"error: {fs.path}: {fs.error} (added by digest only)")
            if json_output:
                out.record(record)
            elif "content_id" in record:
                verb = "added" if record["created"] else "already present"
                out.line(f"{verb}: {fs.path} -> content {record['content_id']}")
        out.warn(
            f"{name}: {counts['added']} added, {counts['already present']} already present, "
            f"{counts['skipped']} skipped (not images), {counts['errors']} error(s)"
        )
    if counts["errors"]:
        raise typer.Exit(1)


@app.command("add-hash")
def add_hash(
    name: str,
    signal_type: str = typer.Argument(..., help=f"One of {_LISTED}."),
    value: str = typer.Argument(..., help="The hash, in hex."),
    source: str = typer.Option("", "--source"),
    external_id: str | None = typer.Option(None, "--external-id"),
    note: str = typer.Option("", "--note"),
    tags: list[str] = typer.Option([], "--tag"),
    json_output: bool = JSON,
) -> None:
    """Add one hash to a bank."""
    with state.open() as sg:
        added = sg.banks.add(
            name,
            {signal_type: value},
            Provenance(source=source, external_id=external_id, note=note, tags=tuple(tags)),
        )
    if json_output:
        print_json({"bank": name, "content_id": added.content_id, "created": added.created})
    else:
        verb = "added" if added.created else "already present"
        out_console.print(f"{verb}: content {added.content_id}")


@contextlib.contextmanager
def _json_errors(json_output: bool, stream: TextIO | None = None) -> Iterator[None]:
    """With --json, a user error is also written as a JSON object (to stdout unless `stream`):
    `{"error": ..., "error_code": ...}`, plus `problems` for a bad hash list. The one-line
    message on stderr and exit code 2 follow as for every command."""
    try:
        yield
    except SafeguardError as e:
        if json_output:
            obj: dict[str, object] = {"error": e.message, "error_code": e.code}
            if isinstance(e, ImportFormatError):
                obj["problems"] = [{"line": n, "message": m} for n, m in e.problems]
            (stream or sys.stdout).write(json.dumps(obj, ensure_ascii=False) + "\n")
        raise


@app.command("import")
def import_list(
    name: str,
    file: Path = typer.Argument(..., help="Hash list: JSON Lines, CSV or TYPE VALUE text."),
    fmt: str | None = typer.Option(None, "--format", help="jsonl, csv or txt (default: detect)."),
    signal_type: str | None = typer.Option(
        None, "--signal-type", help=f"Type of bare values: one of {_LISTED}."
    ),
    source: str = typer.Option("", "--source", help="Provenance (default: the file name)."),
    json_output: bool = JSON,
) -> None:
    """Import a hash list: every line is validated first; all lines are added, or none.
    A list with no entries is an error."""
    with _json_errors(json_output), state.open() as sg, reporter() as out:
        out.start(0, f"importing into {name}")

        def progress(done: int, total: int) -> None:
            out.start(total, f"importing into {name}")
            out.advance(done - out.completed)

        report = sg.import_list(
            name, file, fmt, signal_type=signal_type, source=source, on_progress=progress
        )
    if json_output:
        print_json(report.to_json())
    else:
        out_console.print(
            f"{report.lines} item(s): {report.added} added, {report.already_present} already "
            f"in {name}, {report.duplicates_in_file} repeated in the file"
        )


@app.command("export")
def export_list(
    name: str,
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="jsonl, csv or txt (default: from the --output extension, else jsonl).",
    ),
    json_output: bool = typer.Option(
        False,
        "--json",
        help="Print a JSON summary: on stdout with --output, else on stderr (the list is on "
        "stdout).",
    ),
) -> None:
    """Export a bank's content as a hash list. Local features (crop matching) are not
    exported: the summary says how many items had them and how to keep them."""
    summary_to = sys.stdout if output is not None else sys.stderr  # the list owns stdout
    with _json_errors(json_output, summary_to), state.open() as sg:
        sg.banks.get(name, counts=False)
        fmt = fmt or (format_of_path(output) if output is not None else None) or "jsonl"
        if fmt not in FORMATS:
            raise InvalidRequest(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
        if output is None:
            report = sg.banks.export(name, sys.stdout, fmt)
        else:
            tmp = output.with_name(output.name + ".partial")
            try:
                with open(tmp, "w", encoding="utf-8", newline="") as fh:
                    report = sg.banks.export(name, fh, fmt)
                tmp.replace(output)  # never leave a half-written list under the real name
            except OSError as e:
                raise InvalidRequest(f"{output}: cannot write: {e.strerror or e}") from None
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
    summary = {**report.to_json(), "output": str(output) if output is not None else None}
    if json_output:
        summary_to.write(json.dumps(summary, ensure_ascii=False) + "\n")
        if output is None:
            return  # the warnings are in the summary on stderr
    else:
        where = f" to {output}" if output is not None else ""
        console = out_console if output is not None else err_console
        console.print(f"exported {report.items} item(s) from {name}{where}", highlight=False)
    for warning in report.warnings():
        err_console.print(f"warning: {warning}", markup=False, highlight=False)


@app.command("content")
def content(
    name: str,
    limit: int = typer.Option(50, "--limit", min=0, help="At most this many (0: all)."),
    json_output: bool = typer.Option(False, "--json", help="One JSON object per item."),
) -> None:
    """List a bank's content with provenance."""
    with state.open() as sg:
        items = sg.banks.iter_content(name)
        items = items if limit == 0 else islice(items, limit)
        if json_output:
            for c in items:
                print_json(c.to_json())
            return
        table = Table("id", "external id", "source", "added", "by", "signals", "tags")
        for c in items:
            table.add_row(
                str(c.id),
                c.external_id or "",
                c.source,
                f"{c.added_at:%Y-%m-%d %H:%M}",
                c.added_by,
                ", ".join(c.signals),
                " ".join(c.tags),
            )
        out_console.print(table)


@app.command("remove")
def remove(name: str, content_id: int, json_output: bool = JSON) -> None:
    """Remove one content item from a bank."""
    with state.open() as sg:
        sg.banks.remove_content(name, content_id)
    if json_output:
        print_json({"bank": name, "content_id": content_id, "removed": True})
    else:
        out_console.print(f"removed content {content_id} from {name}")
