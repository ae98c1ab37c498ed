"""`safeguard eval ...`: measure detection quality (docs/evaluation.md)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from safeguard.cli.context import state
from safeguard.cli.output import err_console, out_console, print_json, reporter
from safeguard.errors import InvalidRequest

app = typer.Typer(help="Measure detection quality.", no_args_is_help=True)


@app.command("robustness")
def robustness(
    folder: Path = typer.Argument(..., help="A folder of images (benign stand-ins)."),
    out: Path = typer.Option(Path("robustness-report"), "--out", "-o", help="Report folder."),
    edit: list[str] = typer.Option(
        None, "--edit", help="Only these edits or families (repeat); default: all."
    ),
    workers: int | None = typer.Option(None, "--workers", help="Processes (default: CPUs)."),
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Bank half the images, alter them (compression, resizing, flips, rotations, borders,
    crops...), match, and report recall per edit and family, false matches and cost."""
    from safeguard.evaluation import report as report_mod
    from safeguard.evaluation import robustness as bench
    from safeguard.evaluation.edits import by_name

    try:
        edits = by_name(edit)
    except KeyError as e:
        raise InvalidRequest(f"unknown edit or family {e.args[0]!r}") from None
    if "original" not in [e.name for e in edits]:
        edits = (by_name(["original"])[0], *edits)
    start = time.perf_counter()
    with reporter() as rep:

        def progress(done: int, total: int) -> None:
            if done == 1:
                rep.start(total, "images edited and hashed")
            rep.advance()

        result = bench.run(
            folder, state.get_settings(), edits=edits, workers=workers, on_progress=progress
        )
    result["seconds"] = round(time.perf_counter() - start, 1)
    files = report_mod.write(result, out)
    if json_output:
        print_json(result)
    else:
        out_console.print(report_mod.markdown(result), markup=False, highlight=False)
    err_console.print("wrote " + ", ".join(str(f) for f in files), markup=False)
