"""Importers: Home Office tables (`prc`), FOI returns (`foi`) and published figures (`figures`).

`read_file(path, fmt)` detects the format from the header row when `fmt` is None, reads and
validates the whole file, and returns a ParsedFile or raises StatsImportError naming the file,
row and problem. Storing is separate (safeguard.stats.repository), so a run over several files
validates all of them before anything is written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from safeguard.stats.errors import Problem, StatsImportError
from safeguard.stats.ingest import figures, foi, prc
from safeguard.stats.ingest.common import Figure, ParsedFile, header_key, is_blank
from safeguard.stats.sheets import Sheet, read_sheets

FORMATS = ("prc", "foi", "figures")

__all__ = ["FORMATS", "Figure", "ParsedFile", "detect_format", "read_file"]


def detect_format(path: Path, sheets: list[Sheet]) -> str:
    """Which importer fits: judged on the first non-blank rows of each sheet."""
    for sheet in sheets:
        looked = 0
        for _row_no, cells in sheet.rows:
            if is_blank(cells):
                continue
            looked += 1
            if looked > 30:
                break
            keys = {header_key(c) for c in cells} - {""}
            if figures.looks_like(keys):
                return "figures"
            if prc.looks_like(keys):
                return "prc"
            if foi.looks_like(keys):
                return "foi"
    raise StatsImportError(
        [
            Problem(
                path.name,
                None,
                "cannot tell the format from the columns: a Home Office table (force name, "
                "offence code, number of offences), an FOI return (force, period, count) or "
                "published figures (geography, period, value, measure); pass --format",
            )
        ]
    )


def read_file(
    path: Path, fmt: str | None = None, *, source: str = "nspcc", release: str = ""
) -> ParsedFile:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StatsImportError([Problem(str(path), None, "no such file")]) from None
    except IsADirectoryError:
        raise StatsImportError([Problem(str(path), None, "is a directory, not a file")]) from None
    except OSError as e:
        raise StatsImportError([Problem(str(path), None, f"cannot read: {e.strerror}")]) from None
    if not data.strip():
        raise StatsImportError([Problem(path.name, None, "empty file")])
    sheets = read_sheets(path)
    if fmt is None:
        fmt = detect_format(path, sheets)
    if fmt == "prc":
        figs, rows, detail = prc.parse(path, sheets)
    elif fmt == "foi":
        figs, rows, detail = foi.parse(path, sheets, source=source, release=release)
    elif fmt == "figures":
        figs, rows, detail = figures.parse(path, sheets)
    else:
        raise StatsImportError([Problem(path.name, None, f"unknown format {fmt!r}")])
    if not figs:
        raise StatsImportError([Problem(path.name, None, "no figures in the file")])
    return ParsedFile(path, fmt, hashlib.sha256(data).hexdigest(), rows, figs, detail)
