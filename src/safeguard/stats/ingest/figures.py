"""Published figures, with their qualifiers, as transcribed from releases and press coverage.

Two layouts, both shipped in stats/data and detected from their columns:

- press figures (`nspcc_press_figures.csv`): release, geography type and name, period, value,
  value qualifier (`exact`, `more than`, `approx`, `as reported`, `unverified`, `derived`),
  measure (`offences`, `offences (5-year total)`, `% change`, `offences: possession ...`),
  basis (which source produced the figure) and source URL;
- platform figures (`nspcc_platform_figures.csv`): release date, financial year, platform,
  count and share of offences where a platform was identified.

A published figure keeps its release: the NSPCC revises earlier years in later releases, so
the same force and year may have one figure per release.
"""

from __future__ import annotations

import re
from pathlib import Path

from safeguard.stats import reference
from safeguard.stats.errors import UnknownGeography
from safeguard.stats.geography import FORCE, GROUP, NATION, REGION, UK, gazetteer
from safeguard.stats.ingest.common import (
    Figure,
    Header,
    Problems,
    find_header,
    get,
    is_blank,
    parse_number,
)
from safeguard.stats.periods import PeriodError, PublishedPeriod, parse_published_period
from safeguard.stats.sheets import Sheet

PRESS: dict[str, tuple[str, ...]] = {
    "release": ("release",),
    "release_date": ("release_date", "published", "date"),
    "geography_type": ("geography_type", "area_type", "level"),
    "geography": ("geography", "area", "force", "region"),
    "period": ("financial_year", "period", "year"),
    "value": ("value", "figure"),
    "qualifier": ("value_qualifier", "qualifier"),
    "measure": ("measure",),
    "basis": ("basis", "source"),
    "url": ("source_url", "url"),
    "note": ("notes", "note"),
}
PLATFORM: dict[str, tuple[str, ...]] = {
    "release_date": ("release_date", "published", "date"),
    "period": ("financial_year", "period", "year"),
    "platform": ("platform",),
    "count": ("count",),
    "qualifier": ("count_qualifier", "qualifier"),
    "share": ("share_pct", "share", "share_percent"),
    "denominator": ("denominator_note", "note", "notes"),
    "url": ("source_url", "url"),
}

QUALIFIERS = {
    "": "exact",
    "exact": "exact",
    "more than": "more than",
    "over": "more than",
    "at least": "more than",
    "approx": "approx",
    "approximately": "approx",
    "about": "approx",
    "around": "approx",
    "nearly": "approx",
    "as reported": "as reported",
    "unverified": "unverified",
    "derived": "derived",
}

GEO_KINDS = {
    "uk": (UK,),
    "nation": (NATION, GROUP),
    "region": (REGION, GROUP),
    "force": (FORCE,),
    "group": (GROUP, REGION),
}


def source_of(basis: str) -> str | None:
    b = basis.lower()
    if "nspcc foi" in b or b.strip() in ("nspcc", "foi"):
        return "nspcc"
    if "home office" in b:
        return "home-office"
    if "scottish government" in b:
        return "scottish-government"
    if "psni" in b or "northern ireland" in b:
        return "psni"
    if "police scotland" in b:
        return "police-scotland"
    return None


# how a measure names a breakdown -> offence code
_BREAKDOWN = (
    (re.compile(r"taking.*distribution.*possession", re.I), "image"),
    (re.compile(r"^taking.*(making|distribut)", re.I), "86/2"),
    (re.compile(r"prohibited", re.I), "86/15"),
    (re.compile(r"other|no breakdown", re.I), "other"),
    (re.compile(r"^possession", re.I), "86/10"),
)


def measure_of(text: str, period: PublishedPeriod) -> tuple[str, str] | str:
    """(measure, offence) for a measure as written, or a message saying what is wrong."""
    t = " ".join(text.strip().lower().split())
    t = re.sub(r"\s*\(\d+(\.\d+)?%\)$", "", t)  # "(63%)": the share the release quoted
    if t in ("% change", "percent change", "percentage change", "change %"):
        measure, offence = "pct_change", "image"
    elif t.startswith("offences"):
        rest = t.removeprefix("offences").strip()
        total = re.match(r"^\((\d+|multi)-year total\)$", rest)
        offence = "image"
        if rest.startswith(":"):
            label = rest[1:].strip()
            offence = ""
            for rx, code in _BREAKDOWN:
                if rx.search(label):
                    offence = code
                    break
            if not offence:
                return f"unknown offence breakdown {label!r}"
            measure = "count" if period.kind == "year" else "total"
        elif total or rest == "":
            measure = "count" if period.kind == "year" else "total"
            if total and period.kind != "span":
                return f"measure {text!r} needs a span of years such as 2016/17-2020/21"
        else:
            return f"unknown measure {text!r}"
    else:
        return f"unknown measure {text!r} (expected offences, offences (N-year total) or % change)"
    if measure == "pct_change" and period.kind != "change":
        return f"a % change needs two years such as 2016/17->2020/21, not {period.label!r}"
    if measure in ("count", "total") and period.kind == "change":
        return f"{period.label!r} is a change between two years but the measure is {text!r}"
    return measure, offence


def _release_year(release: str, date: str) -> int | None:
    for t in (release, date):
        m = re.match(r"^\s*(\d{4})", t)
        if m:
            return int(m.group(1))
    return None


def looks_like(header_keys: set[str]) -> bool:
    press = {"geography", "measure", "value"} <= header_keys
    platform = "platform" in header_keys and bool(header_keys & {"share_pct", "share"})
    return press or platform


def parse(path: Path, sheets: list[Sheet]) -> tuple[list[Figure], int, dict[str, object]]:
    problems = Problems(path.name)
    figures: list[Figure] = []
    rows = 0
    for sheet in sheets:
        probe = Problems(path.name)
        header = find_header(
            sheet, PRESS, ("geography", "period", "value", "measure"), probe, quiet=True
        )
        if header is not None:
            n = _press(sheet, header, problems, figures)
        else:
            header = find_header(sheet, PLATFORM, ("period", "platform", "share"), problems)
            if header is None:
                continue
            n = _platforms(sheet, header, problems, figures)
        rows += n
    seen: dict[str, int | None] = {}
    for f in figures:
        k = f.dedupe_key()
        if k in seen:
            problems.add(
                f.file_row,
                f"the same figure as row {seen[k]} (same release, area, period and measure)",
            )
        seen[k] = f.file_row
    problems.raise_if_any()
    detail: dict[str, object] = {
        "releases": sorted({f.release for f in figures}),
        "qualified": sum(1 for f in figures if f.qualifier != "exact"),
    }
    return figures, rows, detail


def _press(sheet: Sheet, header: Header, problems: Problems, out: list[Figure]) -> int:
    gaz = gazetteer()
    rows = 0
    for row_no, row in sheet.rows:
        if row_no <= header.row or is_blank(row):
            continue
        rows += 1

        def bad(message: str, row_no: int = row_no) -> None:
            problems.add(row_no, message, sheet.name)

        gtype = get(row, header, "geography_type").lower()
        if gtype and gtype not in GEO_KINDS:
            bad(f"unknown geography type {gtype!r} (expected {', '.join(GEO_KINDS)})")
            continue
        gname = get(row, header, "geography")
        try:
            geo = gaz.resolve(gname, GEO_KINDS.get(gtype))
        except UnknownGeography as e:
            bad(e.message)
            continue
        try:
            period = parse_published_period(get(row, header, "period"))
        except PeriodError as e:
            bad(e.message)
            continue
        mtext = get(row, header, "measure")
        got = measure_of(mtext, period)
        if isinstance(got, str):
            bad(got)
            continue
        measure, offence = got
        try:
            value = parse_number(get(row, header, "value"), "value")
        except ValueError as e:
            bad(str(e))
            continue
        if value < 0 and measure != "pct_change":
            bad(f"negative {mtext} {value:g}")
            continue
        qtext = get(row, header, "qualifier").lower()
        if qtext not in QUALIFIERS:
            known = ", ".join(sorted(set(QUALIFIERS.values())))
            bad(f"unknown qualifier {qtext!r} (expected {known})")
            continue
        basis = get(row, header, "basis") or "NSPCC FOI"
        source = source_of(basis)
        if source is None:
            bad(
                f"unknown basis {basis!r}: say which source produced the figure "
                "(NSPCC FOI, Home Office, Scottish Government, PSNI)"
            )
            continue
        release = get(row, header, "release")
        date = get(row, header, "release_date")
        out.append(
            Figure(
                source=source,
                basis=basis,
                is_primary=False,
                geography=geo.key,
                geography_label=gname,
                period_type=period.kind,
                year_kind=period.year_kind,
                period_first=period.first,
                period_last=period.last,
                period_label=period.label,
                measure=measure,
                offence=offence,
                offence_label=mtext,
                value=value,
                qualifier=QUALIFIERS[qtext],
                release=release or date,
                release_year=_release_year(release, date),
                source_url=get(row, header, "url"),
                note=get(row, header, "note"),
                file_row=row_no,
            )
        )
    return rows


def _platforms(sheet: Sheet, header: Header, problems: Problems, out: list[Figure]) -> int:
    uk = gazetteer().get("uk:united-kingdom")
    rows = 0
    for row_no, row in sheet.rows:
        if row_no <= header.row or is_blank(row):
            continue
        rows += 1
        try:
            period = parse_published_period(get(row, header, "period"))
        except PeriodError as e:
            problems.add(row_no, e.message, sheet.name)
            continue
        if period.kind != "year":
            problems.add(
                row_no, f"platform figures are for one year, not {period.label!r}", sheet.name
            )
            continue
        name = get(row, header, "platform")
        if not name:
            problems.add(row_no, "empty platform", sheet.name)
            continue
        count = share = None
        try:
            if get(row, header, "count"):
                count = parse_number(get(row, header, "count"), "count")
            if get(row, header, "share"):
                share = parse_number(get(row, header, "share"), "share")
        except ValueError as e:
            problems.add(row_no, str(e), sheet.name)
            continue
        if count is None and share is None:
            problems.add(row_no, "neither a count nor a share", sheet.name)
            continue
        if (count is not None and count < 0) or (share is not None and not 0 <= share <= 100):
            problems.add(
                row_no, "a count must not be negative and a share must be 0-100", sheet.name
            )
            continue
        qtext = get(row, header, "qualifier").lower()
        if qtext not in QUALIFIERS:
            problems.add(row_no, f"unknown qualifier {qtext!r}", sheet.name)
            continue
        date = get(row, header, "release_date")
        out.append(
            Figure(
                source="nspcc",
                basis="NSPCC FOI",
                is_primary=False,
                geography=uk.key,
                geography_label="forces that identified a platform",
                period_type="year",
                year_kind=period.year_kind,
                period_first=period.first,
                period_last=period.last,
                period_label=period.label,
                measure="platform",
                offence="image",
                offence_label="offences where police identified a platform",
                platform=reference.platform(name).name,
                value=count,
                share_pct=share,
                qualifier=QUALIFIERS[qtext],
                release=date,
                release_year=_release_year("", date),
                source_url=get(row, header, "url"),
                note=get(row, header, "denominator"),
                file_row=row_no,
            )
        )
    return rows
