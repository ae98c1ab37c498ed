"""`safeguard hash PATH...`: print the signals of files, one JSON object per file."""

from __future__ import annotations

from pathlib import Path

import typer

from safeguard.cli.context import state
from safeguard.cli.output import reporter
from safeguard.engine import hash_items, signal_types
from safeguard.signals.files import iter_input_files

#: the types shown in the human-readable output: the perceptual ones, with their quality
_SHOWN = [n for n, t in signal_types(listable=True).items() if not t.exact]


def hash_command(
    paths: list[Path] = typer.Argument(..., help="Files and directories (walked recursively)."),
    json_output: bool = typer.Option(
        True, "--json/--no-json", help="JSON Lines on stdout (the default)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", "-w", min=1, help="Processes to hash with (default: CPU count)."
    ),
    quality_floor: int | None = typer.Option(
        None,
        "--quality-floor",
        min=0,
        max=100,
        help="A perceptual hash's quality below this is low quality.",
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Progress bar on a terminal."
    ),
) -> None:
    """Print md5, sha256, pdq, pdq_quality, width and height of every file.

    Bad files get an error record with `error` and `error_code`; the exit code is then 1.
    """
    settings = state.get_settings()
    failed = 0
    with reporter(progress) as out:
        items = list(iter_input_files(paths))
        out.start(len(items), "hashing")
        for fs in hash_items(items, settings, workers=workers, quality_floor=quality_floor):
            out.advance()
            if json_output:
                out.record(fs.to_json())
            else:
                shown = [(fs.values.get(t, "-"), fs.quality.get(t, "-")) for t in _SHOWN]
                out.line("\t".join([fs.path, *(f"{v}\t{q}" for v, q in shown)]))
            if not fs.ok:
                failed += 1
                out.warn(f"error: {fs.path}: {fs.error}")
    if failed:
        raise typer.Exit(1)
