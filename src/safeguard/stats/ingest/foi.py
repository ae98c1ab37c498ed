"""FOI returns from police forces: CSV or XLSX with one row per force, period and count.

Columns (names are matched loosely: case, spaces and underscores do not matter):

- `force` (or `police force`, `force name`): any known name or alias of a UK force;
- `period` (or `year`, `financial year`, `calendar year`): `2016/17`, `2016-17`, `FY16/17`, or
  a calendar year `2017`. A column named `financial year` refuses calendar years and the
  reverse; the two kinds are never merged;
- `count` (or `offences`, `number of offences`): a whole number, not negative;
- optional `offence`: `86/2`, `86/10`, `86/15` (or their descriptions), `other`; blank or
  `total` means all image offences. When a return breaks a year down by offence without a
  total, the total is the sum of the breakdown;
- optional `platform`: the site or app where police identified one (`not identified` and the
  like for none). Platform rows count offences where that platform was flagged; they are kept
  apart from the offence totals.

A force, period, offence and platform may appear once; the same thing in an earlier import is
refused as an overlapping return (see safeguard.stats.repository).
"""

from __future__ import annotations

from pathlib import Path

from safeguard.stats import reference
from safeguard.stats.errors import UnknownGeography
from safeguard.stats.geography import FORCE, Geography, gazetteer, norm
from safeguard.stats.ingest.common import Figure, Problems, find_header, get, is_blank, parse_count
from safeguard.stats.periods import CY, FY, Period, PeriodError, parse_period
from safeguard.stats.sheets import Sheet

BASIS = "FOI return from the police force"

SYNONYMS: dict[str, tuple[str, ...]] = {
    "force": ("force", "police_force", "force_name", "pfa", "police_force_area", "force_area"),
    "period": (
        "period",
        "year",
        "financial_year",
        "fy",
        "calendar_year",
        "reporting_period",
        "fin_year",
    ),
    "count": (
        "count",
        "offences",
        "number_of_offences",
        "number",
        "crimes",
        "recorded_offences",
        "total",
        "value",
    ),
    "offence": ("offence", "offence_code", "code", "offence_type", "crime_type", "breakdown"),
    "platform": ("platform", "site", "app", "online_platform", "social_media", "platform_used"),
}
REQUIRED = ("force", "period", "count")
IMAGE_CODES = ("86/2", "86/10", "86/15", "other")
_TOTAL_WORDS = {
    "",
    "all",
    "total",
    "image",
    "all image offences",
    "all offences",
    "86/2+86/10+86/15",
}


def looks_like(header_keys: set[str]) -> bool:
    return all(header_keys & set(SYNONYMS[r]) for r in REQUIRED)


def offence_code(text: str) -> str | None:
    """`86/2`, `86.2`, `86/02`, a known description, or blank/total -> `image`."""
    t = norm(text)
    if t in _TOTAL_WORDS or text.strip().lower() in _TOTAL_WORDS:
        return "image"
    compact = text.strip().replace(" ", "").replace(".", "/").lower()
    if compact.startswith("86/"):
        sub = compact[3:].lstrip("0") or "0"
        code = f"86/{sub}"
        return code if code in IMAGE_CODES else None
    for off in reference.offences().values():
        if t in (norm(off.code), norm(off.label), norm(off.short)):
            return off.code if off.code != "86" else None
    return None


def _year_kind(header_name: str) -> str | None:
    k = norm(header_name)
    if "calendar" in k:
        return CY
    if "financial" in k or k in ("fy", "fin year"):
        return FY
    return None


def parse(
    path: Path, sheets: list[Sheet], *, source: str = "nspcc", release: str = ""
) -> tuple[list[Figure], int, dict[str, object]]:
    problems = Problems(path.name)
    gaz = gazetteer()
    found = False
    rows = 0
    figures: list[Figure] = []
    # (force, period, offence, platform) -> row, for duplicates in the file
    seen: dict[tuple[str, Period, str, str], int] = {}
    # (force, period) -> {offence: (value, row)}
    breakdown: dict[tuple[str, Period], dict[str, tuple[int, int]]] = {}
    names: dict[tuple[str, Period], str] = {}
    for sheet in sheets:
        header = find_header(sheet, SYNONYMS, REQUIRED, problems, quiet=len(sheets) > 1)
        if header is None:
            continue
        found = True
        kind = _year_kind(header.names["period"])
        for row_no, row in sheet.rows:
            if row_no <= header.row or is_blank(row):
                continue
            rows += 1
            force_text = get(row, header, "force")
            try:
                geo: Geography = gaz.resolve(force_text, (FORCE,)) if force_text else None  # type: ignore[assignment]
            except UnknownGeography as e:
                problems.add(row_no, e.message, sheet.name)
                continue
            if geo is None:
                problems.add(row_no, "empty force name", sheet.name)
                continue
            try:
                period = parse_period(get(row, header, "period"), kind=kind)
            except PeriodError as e:
                problems.add(row_no, e.message, sheet.name)
                continue
            try:
                value = parse_count(get(row, header, "count"))
            except ValueError as e:
                problems.add(row_no, str(e), sheet.name)
                continue
            off_text = get(row, header, "offence")
            code = offence_code(off_text)
            if code is None:
                problems.add(
                    row_no,
                    f"unknown offence {off_text!r}: use 86/2, 86/10, 86/15, other, or leave it "
                    "blank for all image offences",
                    sheet.name,
                )
                continue
            plat_text = get(row, header, "platform")
            plat = reference.platform(plat_text).name if plat_text else ""
            key = (geo.key, period, code, plat)
            if key in seen:
                what = f"{geo.name} {period.label}" + (
                    f" offence {code}" if code != "image" else ""
                )
                what += f" platform {plat}" if plat else ""
                problems.add(
                    row_no, f"duplicate return: {what} is also on row {seen[key]}", sheet.name
                )
                continue
            seen[key] = row_no
            names[(geo.key, period)] = force_text
            if not plat:
                breakdown.setdefault((geo.key, period), {})[code] = (value, row_no)
            figures.append(
                _figure(geo, force_text, period, code, plat, value, row_no, source, release)
            )
    if not found and not problems:
        problems.add(None, "no sheet holds an FOI return table (force, period, count)")
    # totals: given, or the sum of the breakdown; a breakdown larger than its total is wrong
    for (geo_key, period), parts in breakdown.items():
        listed = {c: v for c, v in parts.items() if c in IMAGE_CODES}
        if not listed:
            continue
        part_sum = sum(v for v, _ in listed.values())
        if "image" in parts:
            total, row_no = parts["image"]
            if part_sum > total:
                rows_text = ", ".join(str(r) for r in sorted(r for _, r in listed.values()))
                problems.add(
                    row_no,
                    f"total {total} is less than the sum of its offence breakdown ({part_sum}, "
                    f"rows {rows_text})",
                )
        else:
            geo = gaz.get(geo_key)
            first_row = min(r for _, r in listed.values())
            f = _figure(
                geo,
                names[(geo_key, period)],
                period,
                "image",
                "",
                part_sum,
                first_row,
                source,
                release,
            )
            f.note = "sum of the offence breakdown (" + ", ".join(sorted(listed)) + ")"
            figures.append(f)
    problems.raise_if_any()
    kinds = sorted({f.year_kind for f in figures})
    detail: dict[str, object] = {
        "forces": len({f.geography for f in figures}),
        "periods": sorted({f.period_label for f in figures}),
        "year_kinds": kinds,
        "platform_rows": sum(1 for f in figures if f.platform),
    }
    return figures, rows, detail


def _figure(
    geo: Geography,
    label: str,
    period: Period,
    code: str,
    plat: str,
    value: int,
    row_no: int,
    source: str,
    release: str,
) -> Figure:
    return Figure(
        source=source,
        basis=BASIS,
        is_primary=True,
        geography=geo.key,
        geography_label=label,
        period_type="year",
        year_kind=period.kind,
        period_first=period.start,
        period_last=period.start,
        quarter=period.quarter,
        period_label=period.label,
        measure="platform" if plat else "count",
        offence=code,
        offence_label=reference.offence_label(code),
        platform=plat,
        value=float(value),
        release=release,
        release_year=int(release[:4]) if release[:4].isdigit() else None,
        file_row=row_no,
    )
