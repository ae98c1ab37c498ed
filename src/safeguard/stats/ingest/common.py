"""What every importer shares: the Figure record, header matching, counts, problem lists.

Importers read a whole file and either return every figure in it or raise StatsImportError
listing every problem (file, row, what is wrong); the caller stores all files of one run in one
transaction, so nothing is ever half imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from safeguard.stats.errors import Problem, StatsImportError
from safeguard.stats.sheets import Cell, Sheet, col_letter

#: stop collecting after this many problems in one file (the message shows the first 20)
MAX_PROBLEMS = 1000


@dataclass
class Figure:
    """One figure read from a file, ready to store (see store/stats_tables.StatsFigure)."""

    source: str
    basis: str
    is_primary: bool
    geography: str
    geography_label: str
    period_type: str  # year | span | change
    year_kind: str  # fy | cy
    period_first: int | None
    period_last: int
    period_label: str
    measure: str  # count | total | pct_change | platform
    offence: str
    offence_label: str = ""
    quarter: int | None = None
    platform: str = ""
    value: float | None = None
    share_pct: float | None = None
    qualifier: str = "exact"
    release: str = ""
    release_year: int | None = None
    source_url: str = ""
    note: str = ""
    file_row: int | None = None

    def overlap_key(self) -> str:
        """Two figures with the same overlap key describe the same thing. Returns and tables
        (primary figures) may exist once per area, period and offence whatever release they
        came in; published figures once per release. Quarters are compared separately."""
        where = (
            f"{self.source}|{self.geography}|{self.period_type}|{self.year_kind}|"
            f"{self.period_first}|{self.period_last}|{self.measure}|{self.offence}|{self.platform}"
        )
        if self.is_primary:
            return "return|" + where
        return f"pub|{self.basis}|{self.release}|" + where

    def dedupe_key(self) -> str:
        q = "" if self.quarter is None else f"|q{self.quarter}"
        return self.overlap_key() + q

    def row_dict(self, import_id: int) -> dict[str, object]:
        d = dict(self.__dict__)  # every field is a plain value: no deep copy needed
        d["import_id"] = import_id
        d["dedupe_key"] = self.dedupe_key()[:400]
        return d


@dataclass
class ParsedFile:
    """Everything read from one file, not yet stored."""

    path: Path
    kind: str  # prc | foi | figures
    sha256: str
    rows: int
    figures: list[Figure]
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sources(self) -> list[str]:
        return sorted({f.source for f in self.figures})


class Problems:
    """Collects problems for one file; `raise_if_any` ends the import of that file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Problem] = []

    def add(self, row: int | None, message: str, sheet: str | None = None) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(self.file, row, message, sheet))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise StatsImportError(self.items)


def header_key(cell: Cell) -> str:
    """`Financial Year`, `financial_year`, ` FINANCIAL-YEAR ` all become `financial_year`."""
    return re.sub(r"[^a-z0-9]+", "_", str(cell if cell is not None else "").strip().lower()).strip(
        "_"
    )


def cell_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def is_blank(cells: list[Cell]) -> bool:
    return all(cell_text(c) == "" for c in cells)


@dataclass
class Header:
    row: int
    columns: dict[str, int]  # field -> column index
    names: dict[str, str]  # field -> header as written
    ignored: list[str]


def find_header(
    sheet: Sheet,
    synonyms: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    problems: Problems,
    *,
    quiet: bool = False,
    search_rows: int = 30,
) -> Header | None:
    """The first row holding every required column, within the first rows of a sheet.

    A merged cell at or above that row is refused (a merged header hides which column is
    which). With `quiet`, a sheet with no such row returns None without a problem (for notes
    sheets in a workbook).
    """
    lookup = {syn: f for f, syns in synonyms.items() for syn in syns}
    seen = 0
    first_row = None
    for row_no, cells in sheet.rows:
        if is_blank(cells):
            continue
        first_row = first_row or row_no
        seen += 1
        if seen > search_rows:
            break
        columns: dict[str, int] = {}
        names: dict[str, str] = {}
        ignored: list[str] = []
        dupes: list[str] = []
        for i, c in enumerate(cells):
            k = header_key(c)
            if not k:
                continue
            f = lookup.get(k)
            if f is None:
                ignored.append(cell_text(c))
            elif f in columns:
                where = f"columns {col_letter(columns[f])} and {col_letter(i)}"
                dupes.append(f"{names[f]!r} and {cell_text(c)!r} ({where})")
            else:
                columns[f], names[f] = i, cell_text(c)
        if not all(r in columns for r in required):
            continue
        merged = sorted((top, label) for top, _bottom, label in sheet.merged if top <= row_no)
        if merged:
            problems.add(
                merged[0][0],
                f"merged header cells ({', '.join(m[1] for m in merged[:5])}) above or in the "
                f"header row {row_no}: unmerge them and keep one header row with one name per "
                "column",
                sheet.name,
            )
            return None
        if dupes:
            problems.add(row_no, "two columns mean the same thing: " + "; ".join(dupes), sheet.name)
            return None
        return Header(row_no, columns, names, ignored)
    if quiet:
        return None
    labels = [label for top, _b, label in sheet.merged if first_row and top <= first_row + 2]
    expected = ", ".join(
        f"{r} (or {'/'.join(synonyms[r][1:3]) or synonyms[r][0]})" for r in required
    )
    if labels:
        problems.add(
            first_row,
            f"merged header cells ({', '.join(labels[:5])}) and no usable header row: "
            f"unmerge them and keep one header row naming the columns {expected}",
            sheet.name,
        )
    else:
        problems.add(first_row, f"no header row found: expected columns {expected}", sheet.name)
    return None


def get(cells: list[Cell], header: Header, name: str) -> str:
    i = header.columns.get(name)
    if i is None or i >= len(cells):
        return ""
    return cell_text(cells[i])


_NUM_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def parse_number(text: str, what: str = "count") -> float:
    """A number as published: padding, thousands separators and `-00` (zero) allowed."""
    t = text.strip().replace(",", "").replace("\u00a0", "").replace(" ", "")
    if t == "":
        raise ValueError(f"empty {what}")
    if not _NUM_RE.match(t):
        raise ValueError(f"{what} {text.strip()!r} is not a number")
    return float(t)


def parse_count(text: str, *, allow_negative: bool = False) -> int:
    v = parse_number(text)
    if not v.is_integer():
        raise ValueError(f"count {text.strip()!r} is not a whole number")
    if v < 0 and not allow_negative:
        raise ValueError(f"negative count {text.strip()!r}")
    return int(v)
