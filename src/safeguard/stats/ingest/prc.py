"""Home Office police recorded crime open data tables at police force area level.

Two forms: the CSV (one financial year, as in ../shared/datasets/crime-stats/raw/) and the
published ODS workbook with one sheet per financial year (sheets that are not tables, such as
notes, are skipped). Column names vary between vintages (`Force Name`, `force_name`,
`FORCE NAME`, extra columns) and values carry padding; both are normalised.

Every row of every offence is validated and stored, one figure per force, financial year,
quarter and offence code. Quarterly values may be negative: the Home Office publishes
adjustments that way, so they are kept (and counted in the import's detail). The table spreads
some grouped codes (homicide, `1/4.1/4.10/4.2`) over several rows; rows of a grouped code are
added up, while any other repeated force/quarter/code is an error.
"""

from __future__ import annotations

from pathlib import Path

from safeguard.stats.errors import UnknownGeography
from safeguard.stats.geography import BODY, FORCE, Geography, gazetteer
from safeguard.stats.ingest.common import (
    Figure,
    Problems,
    find_header,
    get,
    is_blank,
    parse_count,
)
from safeguard.stats.periods import FY, Period, PeriodError, parse_period
from safeguard.stats.sheets import Sheet

BASIS = "Home Office police recorded crime open data tables (police force area)"

SYNONYMS: dict[str, tuple[str, ...]] = {
    "year": ("financial_year", "fin_year", "year", "financial_yr", "fy"),
    "quarter": ("financial_quarter", "quarter", "fin_quarter", "qtr"),
    "force": ("force_name", "force", "police_force", "police_force_area", "pfa", "pfa_name"),
    "description": ("offence_description", "offence", "offence_name", "description"),
    "group": ("offence_group",),
    "subgroup": ("offence_subgroup",),
    "code": ("offence_code", "code", "ho_offence_code", "home_office_code"),
    "count": ("number_of_offences", "offences", "count", "number", "value", "recorded_offences"),
}
REQUIRED = ("force", "code", "count")


def looks_like(header_keys: set[str]) -> bool:
    """A force, an offence code and at least one of the table's own columns (quarter,
    description, group): an FOI return with an offence code column is not taken for one."""
    own = set(SYNONYMS["quarter"]) | {"offence_description", "offence_group", "offence_subgroup"}
    return all(header_keys & set(SYNONYMS[k]) for k in ("code", "force")) and bool(
        header_keys & own
    )


def _sheet_year(sheet: Sheet) -> Period | None:
    if sheet.name is None:
        return None
    try:
        p = parse_period(sheet.name.replace("_", "/"), kind=FY)
    except PeriodError:
        return None
    return p if p.quarter is None else None


def _grouped(code: str) -> bool:
    """A code standing for several offence codes (`1/4.1/4.10/4.2`), not a sub-code (86/2)."""
    return code.count("/") >= 2 or "," in code


def parse(path: Path, sheets: list[Sheet]) -> tuple[list[Figure], int, dict[str, object]]:
    problems = Problems(path.name)
    gaz = gazetteer()
    names: dict[str, Geography | str] = {}
    # (geography, year, quarter, code) -> [value, first row, description, label, sheet]
    cells: dict[tuple[str, int, int | None, str], list] = {}
    rows = negatives = 0
    years: set[str] = set()
    used_sheets: list[str] = []
    for sheet in sheets:
        sheet_year = _sheet_year(sheet)
        quiet = len(sheets) > 1 and sheet_year is None
        header = find_header(sheet, SYNONYMS, REQUIRED, problems, quiet=quiet)
        if header is None:
            continue
        if "year" not in header.columns and sheet_year is None:
            problems.add(
                header.row,
                "no financial year column, and the sheet name is not a financial year",
                sheet.name,
            )
            continue
        used_sheets.append(sheet.name or "")
        year_cache: dict[str, Period | str] = {}
        for row_no, row in sheet.rows:
            if row_no <= header.row or is_blank(row):
                continue
            rows += 1
            year = sheet_year
            if "year" in header.columns:
                text = get(row, header, "year")
                got = year_cache.get(text)
                if got is None:
                    try:
                        got = parse_period(text, kind=FY)
                        if got.quarter:
                            got = f"{text!r}: give the quarter in its own column"
                    except PeriodError as e:
                        got = e.message
                    year_cache[text] = got
                if isinstance(got, str):
                    problems.add(row_no, got, sheet.name)
                    continue
                if sheet_year is not None and got != sheet_year:
                    problems.add(
                        row_no,
                        f"financial year {got.label} in the sheet for {sheet_year.label}",
                        sheet.name,
                    )
                    continue
                year = got
            assert year is not None
            quarter: int | None = None
            if "quarter" in header.columns:
                qt = get(row, header, "quarter").upper().removeprefix("Q")
                if qt:
                    if qt not in ("1", "2", "3", "4"):
                        problems.add(
                            row_no,
                            f"quarter {get(row, header, 'quarter')!r} is not 1-4",
                            sheet.name,
                        )
                        continue
                    quarter = int(qt)
            force = get(row, header, "force")
            geo = names.get(force)
            if geo is None:
                try:
                    geo = gaz.resolve(force, (FORCE, BODY)) if force else "empty force name"
                except UnknownGeography as e:
                    geo = e.message
                names[force] = geo
            if isinstance(geo, str):
                problems.add(row_no, geo, sheet.name)
                continue
            code = get(row, header, "code")
            if not code:
                problems.add(row_no, "empty offence code", sheet.name)
                continue
            try:
                value = parse_count(get(row, header, "count"), allow_negative=True)
            except ValueError as e:
                problems.add(row_no, str(e), sheet.name)
                continue
            negatives += value < 0
            key = (geo.key, year.start, quarter, code)
            prev = cells.get(key)
            if prev is None:
                cells[key] = [value, row_no, get(row, header, "description"), force, sheet.name]
            elif _grouped(code):
                prev[0] += value
            else:
                q = f" Q{quarter}" if quarter else ""
                problems.add(
                    row_no,
                    f"duplicate row: {force} {year.label}{q} offence {code} is also on row "
                    f"{prev[1]}",
                    sheet.name,
                )
                continue
            years.add(year.label)
    if not used_sheets and not problems:
        problems.add(None, "no sheet holds a police recorded crime table")
    problems.raise_if_any()
    figures = []
    for (geo_key, start, quarter, code), (value, row_no, desc, label, sheet_name) in cells.items():
        p = Period(FY, start, quarter)
        figures.append(
            Figure(
                source="home-office",
                basis=BASIS,
                is_primary=True,
                geography=geo_key,
                geography_label=label,
                period_type="year",
                year_kind=FY,
                period_first=start,
                period_last=start,
                quarter=quarter,
                period_label=p.label,
                measure="count",
                offence=code,
                offence_label=desc or f"offence code {code}",
                value=float(value),
                file_row=row_no,
                note=f"sheet {sheet_name}" if sheet_name else "",
            )
        )
    detail: dict[str, object] = {
        "years": sorted(years),
        "negative_values_kept": negatives,
        "forces": len({k[0] for k in cells}),
        "offence_codes": len({k[3] for k in cells}),
    }
    if sheets and sheets[0].name is not None:
        detail["sheets"] = used_sheets
    return figures, rows, detail
