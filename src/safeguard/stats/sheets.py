"""Read tabular files (CSV, XLSX, ODS) into plain rows, with row numbers and merged cells.

Every reader gives `Sheet`s: a name (None for CSV), rows as (row number, cells) counted the
way a spreadsheet shows them (1 is the first line), and the merged ranges so callers can refuse
a merged header. ODS is parsed straight from its XML with a streaming parser: it is far faster
than odfpy on the Home Office's large tables and never expands the millions of empty repeated
rows and columns spreadsheet programs write.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError, iterparse

from safeguard.stats.errors import Problem, StatsImportError

Cell = str | int | float | None


@dataclass
class Sheet:
    name: str | None
    rows: list[tuple[int, list[Cell]]]
    # merged ranges: (first row, last row, A1-style label)
    merged: list[tuple[int, int, str]] = field(default_factory=list)


def col_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    s = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        s = chr(65 + r) + s
    return s


def sniff_kind(path: Path) -> str:
    """csv, xlsx or ods, from the file's first bytes (and its name when they are plain text)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                mimetype = (
                    z.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
                )
        except zipfile.BadZipFile:
            raise StatsImportError([Problem(path.name, None, "damaged zip container")]) from None
        if "opendocument.spreadsheet" in mimetype or "content.xml" in names:
            return "ods"
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise StatsImportError([Problem(path.name, None, "a zip file that is not XLSX or ODS")])
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise StatsImportError(
            [
                Problem(
                    path.name, None, "old binary .xls workbooks are not read: save as XLSX or CSV"
                )
            ]
        )
    if b"\x00" in head:
        raise StatsImportError([Problem(path.name, None, "not a text, XLSX or ODS file")])
    return "csv"


def read_sheets(path: Path) -> list[Sheet]:
    kind = sniff_kind(path)
    if kind == "csv":
        return [read_csv(path)]
    if kind == "xlsx":
        return read_xlsx(path)
    return read_ods(path)


def _decode(data: bytes, name: str) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise StatsImportError([Problem(name, None, "text encoding is neither UTF-8 nor Windows-1252")])


def read_csv(path: Path) -> Sheet:
    text = _decode(path.read_bytes(), path.name)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[Cell]]] = []
    try:
        for cells in reader:
            rows.append((reader.line_num, list(cells)))
    except csv.Error as e:
        raise StatsImportError([Problem(path.name, reader.line_num, f"bad CSV: {e}")]) from None
    return Sheet(None, rows)


def read_xlsx(path: Path) -> list[Sheet]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for damaged files
        raise StatsImportError([Problem(path.name, None, f"unreadable XLSX: {e}")]) from None
    sheets = []
    for ws in wb.worksheets:
        rows = [
            (i, list(values)) for i, values in enumerate(ws.iter_rows(values_only=True), start=1)
        ]
        merged = [(r.min_row, r.max_row, r.coord) for r in ws.merged_cells.ranges]
        sheets.append(Sheet(ws.title, rows, merged))
    wb.close()
    return sheets


_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_O = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_X = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_NUMERIC = {"float", "percentage", "currency"}


def _inline_text(node) -> str:
    out = [node.text or ""]
    for child in node:
        if child.tag == f"{_X}s":
            out.append(" " * int(child.get(f"{_X}c", "1")))
        elif child.tag == f"{_X}tab":
            out.append("\t")
        elif child.tag == f"{_X}line-break":
            out.append("\n")
        else:
            out.append(_inline_text(child))
        out.append(child.tail or "")
    return "".join(out)


def _cell_text(el) -> str:
    return "\n".join(_inline_text(p) for p in el if p.tag == f"{_X}p")


def read_ods(path: Path) -> list[Sheet]:
    try:
        with zipfile.ZipFile(path) as z, z.open("content.xml") as fh:
            return list(_parse_ods(fh))
    except (KeyError, zipfile.BadZipFile, ParseError) as e:
        raise StatsImportError([Problem(path.name, None, f"unreadable ODS: {e}")]) from None


def _parse_ods(fh) -> Iterator[Sheet]:
    sheet: Sheet | None = None
    row_no = 0
    for event, el in iterparse(fh, events=("start", "end")):
        tag = el.tag
        if event == "start":
            if tag == f"{_T}table":
                sheet = Sheet(el.get(f"{_T}name"), [])
                row_no = 0
            continue
        if tag == f"{_T}table-row" and sheet is not None:
            repeat = int(el.get(f"{_T}number-rows-repeated", "1"))
            cells: list[Cell] = []
            pending_empty = 0
            col = 0
            for c in el:
                if c.tag not in (f"{_T}table-cell", f"{_T}covered-table-cell"):
                    continue
                n = int(c.get(f"{_T}number-columns-repeated", "1"))
                vtype = c.get(f"{_O}value-type")
                value: Cell
                if vtype in _NUMERIC:
                    value = c.get(f"{_O}value")
                else:
                    value = _cell_text(c) if c.tag == f"{_T}table-cell" else ""
                span_c = int(c.get(f"{_T}number-columns-spanned", "1"))
                span_r = int(c.get(f"{_T}number-rows-spanned", "1"))
                if span_c > 1 or span_r > 1:
                    first = f"{col_letter(col)}{row_no + 1}"
                    last = f"{col_letter(col + span_c - 1)}{row_no + span_r}"
                    sheet.merged.append((row_no + 1, row_no + span_r, f"{first}:{last}"))
                if value in (None, ""):
                    pending_empty += n
                else:
                    cells.extend([""] * pending_empty)
                    pending_empty = 0
                    cells.extend([value] * n)
                col += n
            if cells:
                for _ in range(min(repeat, 100_000)):
                    row_no += 1
                    sheet.rows.append((row_no, list(cells)))
            else:
                row_no += repeat
            el.clear()
        elif tag == f"{_T}table" and sheet is not None:
            yield sheet
            sheet = None
            el.clear()
