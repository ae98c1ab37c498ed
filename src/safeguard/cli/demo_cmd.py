"""`safeguard demo`: the first hour in one command, on a throwaway SQLite store.

Banks benign stand-in photos, makes edited copies (JPEG quality 50, half size, mirrored) and matches
them together with photos that were never banked, then prints what matched.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from PIL import Image, ImageOps
from rich.table import Table

from safeguard.banks import Provenance
from safeguard.cli.output import out_console, reporter
from safeguard.config import sqlite_url
from safeguard.engine import Safeguard
from safeguard.errors import InvalidRequest

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def _find_images_dir() -> Path | None:
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *here.parents):
        candidate = base.parent / "shared" / "datasets" / "images" / "coco"
        if candidate.is_dir():
            return candidate
    return None


def _images(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() in _IMAGE_SUFFIXES)


def demo_command(
    images: Path | None = typer.Option(
        None, "--images", help="Folder with train2017/ and val2017/ (default: ../shared/...)."
    ),
    count: int = typer.Option(128, "--count", min=1, help="How many photos to bank."),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Where to keep the demo store and copies (default: a temp dir)."
    ),
) -> None:
    """Bank photos, match edited copies and never-seen photos, and show the result."""
    images = images or _find_images_dir()
    if images is None or not images.is_dir():
        raise InvalidRequest("no images found: pass --images DIR (with train2017/ and val2017/)")
    listed = _images(images / "train2017")[:count]
    unseen = _images(images / "val2017")[:count]
    if not listed:
        raise InvalidRequest(f"no images under {images / 'train2017'}")
    work = workdir or Path(tempfile.mkdtemp(prefix="safeguard-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    out_console.print(f"demo store: SQLite in {work}  (explore: safeguard --home {work} bank list)")
    store = sqlite_url(work)  # always its own SQLite file, whatever the environment names
    with Safeguard.open(home=work, database_url=store, actor="demo") as sg, reporter() as out:
        if not any(b.name == "demo-known" for b in sg.banks.list()):
            sg.banks.create("demo-known", description="benign stand-ins for listed images")
        out.start(len(listed), "banking")
        for fs in sg.hash_paths(listed, local=True):
            sg.add_signals_of(
                "demo-known", fs, Provenance(source="demo", external_id=Path(fs.path).name)
            )
            out.advance()
        edits = _make_edits(listed, work / "edited", out)
        groups = {
            "JPEG quality 50": edits["jpeg50"],
            "half size": edits["half"],
            "mirrored": edits["mirror"],
            "cropped 5% each side": edits["crop"],
            "never banked": [str(p) for p in unseen],
        }
        rows = []
        for label, paths in groups.items():
            out.start(len(paths), f"matching {label}")
            hits = 0
            for _, result in sg.match_paths(paths):
                hits += result.matched
                out.advance()
            rows.append((label, hits, len(paths)))
    table = Table("query", "matched", "of", title=f"{len(listed)} photos banked in demo-known")
    for label, hits, total in rows:
        table.add_row(label, str(hits), str(total))
    out_console.print(table)
    ok = all(h == t for label, h, t in rows if label != "never banked") and rows[-1][1] == 0
    out_console.print(
        "every edited copy matched its original; no unseen photo matched"
        if ok
        else "[red]unexpected result: see the table above[/]"
    )
    if not ok:
        raise typer.Exit(1)


def _make_edits(listed: list[Path], folder: Path, out) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, list[str]] = {"jpeg50": [], "half": [], "mirror": [], "crop": []}
    out.start(len(listed), "making edited copies")
    for p in listed:
        with Image.open(p) as im:
            rgb = im.convert("RGB")
            q50 = folder / f"{p.stem}-q50.jpg"
            rgb.save(q50, "JPEG", quality=50)
            half = folder / f"{p.stem}-half.jpg"
            rgb.resize((max(1, rgb.width // 2), max(1, rgb.height // 2)), Image.LANCZOS).save(
                half, "JPEG", quality=90
            )
            mirror = folder / f"{p.stem}-mirror.jpg"
            ImageOps.mirror(rgb).save(mirror, "JPEG", quality=90)
            crop = folder / f"{p.stem}-crop.jpg"
            dx, dy = rgb.width // 20, rgb.height // 20
            rgb.crop((dx, dy, rgb.width - dx, rgb.height - dy)).save(crop, "JPEG", quality=90)
        made["crop"].append(str(crop))
        made["jpeg50"].append(str(q50))
        made["half"].append(str(half))
        made["mirror"].append(str(mirror))
        out.advance()
    return made
