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


@app.command("video")
def video(
    videos: int | None = typer.Option(
        None,
        "--videos",
        min=2,
        max=1000,
        help="Test videos to build (default 50, or with --photos as many as they allow, at "
        "most 50).",
    ),
    photos: Path | None = typer.Option(
        None,
        "--photos",
        help="Build them of these photos (a folder, searched recursively), three to a video, "
        "none in two videos.",
    ),
    out: Path = typer.Option(Path("video-report"), "--out", "-o", help="Report folder."),
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Build slideshow videos of the synthetic photos, bank them by vPDQ, edit each
    (re-encode, resize, frame rate, trims, a cut, borders, mirror, caption), and report
    recall per edit, false matches, and matching pairs among distinct videos."""
    import json

    from safeguard.evaluation import videos as bench
    from safeguard.evaluation.robustness import find_images

    pictures = find_images(photos) if photos is not None else []
    if videos is None:
        videos = min(50, len(pictures) // bench.PHOTOS_PER_VIDEO) if pictures else 50
        if videos < 2:
            raise InvalidRequest(
                f"{photos}: {len(pictures)} photos make fewer than two videos of "
                f"{bench.PHOTOS_PER_VIDEO} (no photo is used twice)"
            )
    start = time.perf_counter()
    hashed = []
    with reporter() as rep:
        rep.start(videos, "videos built, edited and hashed")
        for item in bench.hash_all(videos, photos=pictures):
            hashed.append(item)
            rep.advance()
    where = f"photos from {photos.name}" if photos is not None else "synthetic scenes"
    result = bench.evaluate(hashed, where)
    result["seconds_taken"] = round(time.perf_counter() - start, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "report.md").write_text(bench.markdown(result) + "\n")
    if json_output:
        print_json(result)
    else:
        out_console.print(bench.markdown(result), markup=False, highlight=False)
    err_console.print(f"wrote {out / 'report.json'}, {out / 'report.md'}", markup=False)
