"""`safeguard hash PATH...`: print the signals of files, one JSON object per file."""

from __future__ import annotations

from pathlib import Path

import typer

from safeguard.cli.context import state
from safeguard.cli.output import reporter
from safeguard.signals.files import hash_items, iter_input_files


def hash_command(
    paths: list[Path] = typer.Argument(..., help="Files and directories (walked recursively)."),
    json_output: bool = typer.Option(
        True, "--json/--no-json", help="JSON Lines on stdout (the default)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", "-w", min=1, help="Processes to hash with (default: CPU count)."
    ),
    quality_floor: int | None = typer.Option(
        None, "--quality-floor", min=0, max=100, help="PDQ quality below this is low quality."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Progress bar on a terminal."
    ),
) -> None:
    """Print md5, sha256, pdq, pdq_quality, width and height of every file.

    Bad files get an error record with `error` and `error_code`; the exit code is then 1.
    """
    settings = state.get_settings()
    if quality_floor is not None:
        settings = settings.with_(pdq_quality_floor=quality_floor)
    failed = 0
    with reporter(progress) as out:
        items = list(iter_input_files(paths))
        out.start(len(items), "hashing")
        for fs in hash_items(items, settings, workers=workers):
            out.advance()
            if json_output:
                out.record(fs.to_json())
            else:
                out.line(f"{fs.path}\t{fs.pdq or '-'}\t{fs.pdq_quality if fs.pdq else '-'}")
            if not fs.ok:
                failed += 1
                out.warn(f"error: {fs.path}: {fs.error}")
    if failed:
        raise typer.Exit(1)
