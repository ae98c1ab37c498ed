"""`safeguard match`: match files, the hashes in a list, or URLs, against every enabled bank."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from safeguard.banks.formats import parse_hash_list, read_hash_list
from safeguard.cli.context import state
from safeguard.cli.output import reporter
from safeguard.engine import signal_types
from safeguard.errors import InvalidRequest, SafeguardError
from safeguard.signals.files import iter_input_files

#: the signal types of hash lists, for help texts
_LISTED = ", ".join(signal_types(listable=True))


def match_command(
    paths: list[Path] = typer.Argument(None, help="Files and directories (walked recursively)."),
    hashes: str | None = typer.Option(
        None,
        "--hashes",
        help="Match the hashes in this list instead (JSONL, CSV, txt; - for stdin).",
    ),
    fmt: str | None = typer.Option(None, "--format", help="Format of --hashes (default: detect)."),
    signal_type: str | None = typer.Option(
        None, "--signal-type", help=f"Type of bare values in --hashes: one of {_LISTED}."
    ),
    urls: list[str] = typer.Option(
        None,
        "--url",
        help="Match this web address against URL lists (repeat for more; docs/signals.md).",
    ),
    json_output: bool = typer.Option(
        True, "--json/--no-json", help="JSON Lines on stdout (the default)."
    ),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Hashing processes."),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Progress bar on a terminal."
    ),
) -> None:
    """Print, for each input, `path` (or `hash`) and its `matches` in enabled banks.

    Each match is {bank, content_id, signal_type, distance, external_id}. Matches removed by a
    negative bank are listed under `suppressed`, with the `negative_matches` that removed them.
    """
    if sum(map(bool, (paths, hashes, urls))) != 1:
        raise InvalidRequest(
            "give files or directories to match, or --hashes FILE, or --url URL (one of them)"
        )
    sg = state.open()
    try:
        if hashes:
            _match_hashes(sg, hashes, fmt, signal_type, json_output)
            return
        if urls:
            if not _match_urls(sg, urls, json_output):
                raise typer.Exit(1)
            return
        failed = matched = total = 0
        with reporter(progress) as out:
            items = list(iter_input_files(paths))
            out.start(len(items), "matching")
            for fs, result in sg.match_items(items, workers=workers):
                out.advance()
                total += 1
                record: dict[str, object] = {"path": fs.path, **result.to_json()}
                if not fs.ok:
                    failed += 1
                    record.update(error=fs.error, error_code=fs.error_code)
                    out.warn(f"error: {fs.path}: {fs.error}")
                if result.matched:
                    matched += 1
                if json_output:
                    out.record(record)
                else:
                    out.line(_human(fs.path, result))
            out.warn(f"{total} file(s): {matched} matched, {failed} error(s)")
    finally:
        sg.close()
    if failed:
        raise typer.Exit(1)


def _match_hashes(sg, source: str, fmt, signal_type, json_output: bool) -> None:
    if source == "-":
        records = parse_hash_list(
            sys.stdin.read(), "<stdin>", fmt or "txt", signal_type=signal_type
        )
    else:
        records = read_hash_list(source, fmt, signal_type=signal_type)
    with reporter(False) as out:
        for record, result in zip(records, sg.match_records(records), strict=True):
            query: dict[str, object]
            if len(record.signals) == 1:
                ((t, v),) = record.signals.items()
                query = {"hash": v, "signal_type": t}
            else:
                query = {"signals": record.signals}
            query["line"] = record.line
            if json_output:
                out.record({**query, **result.to_json()})
            else:
                out.line(_human(str(query.get("hash", query.get("signals"))), result))


def _match_urls(sg, urls: list[str], json_output: bool) -> bool:
    """One record per URL (an unreadable one gets its error); False if any was unreadable."""
    ok = True
    with reporter(False) as out:
        for url in urls:
            try:
                canonical, result = sg.match_url(url)
            except SafeguardError as e:
                ok = False
                out.warn(f"error: {url}: {e.message}")
                if json_output:
                    out.record({"url": url, "error": e.message, "error_code": e.code})
                continue
            if json_output:
                out.record({"url": url, "canonical": canonical, **result.to_json()})
            else:
                out.line(_human(url, result))
    return ok


def _human(name: str, result) -> str:
    if not result.matches:
        extra = (
            f" ({len(result.suppressed)} suppressed by negative banks)" if result.suppressed else ""
        )
        return f"no match  {name}{extra}"
    best = result.matches[0]
    return (
        f"MATCH     {name}  bank={best.bank} content={best.content_id} "
        f"{best.signal_type} distance={best.distance}"
    )
