"""Analysis: a yearly series for one area and source, and what the articles say about it.

For an area and a span of years (`summary`): the value of every year, the total over the span,
the change between the first and last year, the peak, rates per 100,000 people, published
totals and changes for the span (checked against the series), platform shares, and which
forces each area figure covers.

Rules that keep figures honest:

- one source per series: NSPCC FOI counts, Home Office tables, Scottish Government and PSNI
  figures are never added together or mixed across years; the summary names its source and
  lists the other sources that also cover the span;
- one offence measure per series: all image offences, or the Home Office code 86 proxy;
- a year's figure for an area is the figure published for that area, or else the sum of its
  forces when every force has one (coverage says which forces reported); otherwise the year
  is missing and the total over the span is not computed (`total` is null);
- when a force and year have figures from several releases, the newest release wins (or the
  newest up to `release`), raw returns and tables win over transcriptions, and the others are
  listed in `notes` when they disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safeguard.stats import reference
from safeguard.stats.errors import NoFigures, StatsError
from safeguard.stats.geography import FORCE, Geography, gazetteer
from safeguard.stats.periods import FY, Period, Span, kind_name, parse_period

if TYPE_CHECKING:  # the repository (SQLAlchemy) is passed in, never imported here
    from safeguard.stats.repository import FigureRow, StatsRepository

IMAGE_OFFENCES = ("image", "86", "86/2", "86/10", "86/15", "other")

POPULATION_NOTE = (
    "population from House of Commons Library briefing SN00634 (March 2020), probably ONS "
    "mid-2018 estimates; the same population is used for every year"
)


def combine_qualifiers(qs: list[str]) -> str:
    odd = set(qs) - {"exact"}
    if not odd:
        return "exact"
    if "approx" in odd:
        return "approx"
    if odd == {"more than"}:
        return "more than"
    return sorted(odd)[0]


def pct_change(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or a == 0:
        return None
    return round((b - a) / a * 100, 1)


def num(v: float | None) -> int | float | None:
    """Counts as integers in JSON; anything else unchanged."""
    if v is None:
        return None
    return int(v) if float(v).is_integer() else v


@dataclass
class YearValue:
    period: Period
    value: float | None
    qualifier: str = "exact"
    basis: str = ""
    used: list[FigureRow] = field(default_factory=list)
    coverage: dict[str, object] | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self, population: int | None) -> dict[str, object]:
        d: dict[str, object] = {
            "period": self.period.label,
            "value": num(self.value),
            "qualifier": self.qualifier if self.value is not None else None,
            "basis": self.basis,
        }
        if population and self.value is not None:
            d["rate_per_100k"] = round(self.value / population * 100_000, 1)
        if self.coverage is not None:
            d["coverage"] = self.coverage
        if self.used and self.value is not None:
            d["from"] = sorted({f.cite() for f in self.used})[:5]
        return d


@dataclass
class Summary:
    geography: Geography
    source: str
    offence: str
    span: Span
    series: list[YearValue]
    published: list[dict[str, object]]
    platforms: list[dict[str, object]]
    other_sources: list[dict[str, object]]
    notes: list[str]
    caveats: list[str]
    citations: list[dict[str, str]]

    @property
    def available(self) -> list[YearValue]:
        return [y for y in self.series if y.value is not None]

    @property
    def first(self) -> YearValue:
        return self.series[0]

    @property
    def last(self) -> YearValue:
        return self.series[-1]

    @property
    def missing(self) -> list[str]:
        return [y.period.label for y in self.series if y.value is None]

    @property
    def total(self) -> float | None:
        if self.missing:
            return None
        return sum(y.value or 0 for y in self.series)

    @property
    def total_qualifier(self) -> str | None:
        if self.total is None:
            return None
        return combine_qualifiers([y.qualifier for y in self.series])

    @property
    def peak(self) -> YearValue | None:
        best = None
        for y in self.available:  # ties: the latest year
            if best is None or (y.value or 0) >= (best.value or 0):
                best = y
        return best

    @property
    def change_pct(self) -> float | None:
        if len(self.series) < 2:
            return None
        return pct_change(self.first.value, self.last.value)

    def to_json(self) -> dict[str, object]:
        geo = self.geography
        peak = self.peak
        pop = geo.population
        partial = sum(y.value or 0 for y in self.available)
        rate = None
        if self.last.value is not None:
            rate = {
                "period": self.last.period.label,
                "value": round(self.last.value / pop * 100_000, 1) if pop else None,
                "population": pop,
                "note": POPULATION_NOTE if pop else (geo.population_note or "no population"),
            }
        change = (
            None
            if self.first.value is None or self.last.value is None or len(self.series) < 2
            else num(self.last.value - self.first.value)
        )
        return {
            "geography": geo.name,
            "geography_key": geo.key,
            "geography_kind": geo.kind_name,
            "source": self.source,
            "source_label": reference.SOURCES[self.source].label,
            "offence": self.offence,
            "offence_label": reference.offence_label(self.offence),
            "year_kind": kind_name(self.span.kind),
            "from": {"period": self.first.period.label, "value": num(self.first.value)},
            "to": {"period": self.last.period.label, "value": num(self.last.value)},
            "change": change,
            "change_pct": self.change_pct,
            "total": num(self.total),
            "total_qualifier": self.total_qualifier,
            "total_of_available_years": None if not self.missing else num(partial),
            "peak": None
            if peak is None
            else {"period": peak.period.label, "value": num(peak.value)},
            "missing_periods": self.missing,
            "periods": [y.period.label for y in self.series],
            "series": [y.to_json(pop) for y in self.series],
            "rate_per_100k": rate,
            "published": self.published,
            "platforms": self.platforms,
            "other_sources": self.other_sources,
            "notes": self.notes,
            "caveats": self.caveats,
            "citations": self.citations,
        }


def _rank(f: FigureRow) -> tuple[int, int, int, int]:
    return (int(f.is_primary), f.release_year or 0, int(f.qualifier == "exact"), f.id)


class Analysis:
    """Answers questions over the stored figures (safeguard.stats.repository)."""

    def __init__(self, repo: StatsRepository) -> None:
        self.repo = repo
        self.gaz = gazetteer()

    # -- loading -----------------------------------------------------------------------------

    def _load(self, geo: Geography, offence: str | None) -> list[FigureRow]:
        keys = {geo.key, *geo.members}
        offences = IMAGE_OFFENCES if offence is None else (offence,)
        return self.repo.figures(keys, offences=offences)

    # -- one year ----------------------------------------------------------------------------

    @staticmethod
    def _eligible(f: FigureRow, release: int | None) -> bool:
        return f.is_primary or release is None or (f.release_year or 0) <= release

    def _direct(
        self,
        figs: list[FigureRow],
        geo_key: str,
        period: Period,
        source: str,
        offence: str,
        release: int | None,
    ) -> YearValue | None:
        """The figure one area has for one year: published or returned, or its four quarters."""
        cands = [
            f
            for f in figs
            if f.geography == geo_key
            and f.source == source
            and f.offence == offence
            and f.measure == "count"
            and f.period_type == "year"
            and f.year_kind == period.kind
            and f.period_last == period.start
            and self._eligible(f, release)
        ]
        whole = [f for f in cands if f.quarter is None]
        if whole:
            whole.sort(key=_rank, reverse=True)
            best = whole[0]
            y = YearValue(period, best.value, best.qualifier, "reported", [best])
            if best.note:
                y.notes.append(f"{self.gaz.get(geo_key).name} {period.label}: {best.note}")
            for other in whole[1:]:
                if other.value != best.value:
                    y.notes.append(
                        f"{self.gaz.get(geo_key).name} {period.label}: {num(best.value):,} "
                        f"({best.cite()}) used; {num(other.value):,} in the {other.cite()}"
                    )
            return y
        quarters = {f.quarter: f for f in cands if f.quarter}
        if not quarters:
            return None
        if len(quarters) < 4:
            have = ", ".join(f"Q{q}" for q in sorted(quarters))
            return YearValue(
                period,
                None,
                notes=[f"{self.gaz.get(geo_key).name} {period.label}: only {have} recorded"],
            )
        used = [quarters[q] for q in (1, 2, 3, 4)]
        return YearValue(
            period,
            sum(f.value or 0 for f in used),
            combine_qualifiers([f.qualifier for f in used]),
            "sum of 4 quarters",
            used,
        )

    def year_value(
        self,
        figs: list[FigureRow],
        geo: Geography,
        period: Period,
        source: str,
        offence: str,
        release: int | None = None,
        from_forces: bool = False,
    ) -> YearValue:
        direct = self._direct(figs, geo.key, period, source, offence, release)
        if geo.kind == FORCE:
            return direct or YearValue(period, None)
        if len(geo.members) == 1 and (direct is None or direct.value is None):
            # Scotland is Police Scotland, Northern Ireland the PSNI
            force = self.gaz.get(geo.members[0])
            own = self._direct(figs, force.key, period, source, offence, release)
            if own is None:
                return YearValue(period, None)
            own.basis = f"reported by {force.name}"
            return own
        if direct is not None and direct.value is not None and not from_forces:
            direct.basis = "published for the area"
            return direct
        parts = {m: self._direct(figs, m, period, source, offence, release) for m in geo.members}
        reported = [m for m, v in parts.items() if v is not None and v.value is not None]
        missing = [self.gaz.get(m).name for m in geo.members if m not in reported]
        coverage: dict[str, object] = {
            "forces": len(geo.members),
            "reported": len(reported),
            "missing": missing,
        }
        if not reported and direct is None:
            return YearValue(period, None, coverage=coverage)
        if missing:
            y = YearValue(period, None, coverage=coverage)
            partial = sum(parts[m].value or 0 for m in reported)  # type: ignore[union-attr, misc]
            if reported:
                y.notes.append(
                    f"{geo.name} {period.label}: {len(reported)} of {len(geo.members)} forces "
                    f"reported ({num(partial):,}); missing: {', '.join(missing[:8])}"
                    + (" ..." if len(missing) > 8 else "")
                )
            if direct is not None and direct.value is not None:
                y.notes.append(
                    f"{geo.name} {period.label}: {num(direct.value):,} published for the area "
                    "(not used: --from-forces)"
                )
            return y
        vals = [parts[m] for m in reported]
        total = sum(v.value or 0 for v in vals)  # type: ignore[union-attr, misc]
        y = YearValue(
            period,
            total,
            combine_qualifiers([v.qualifier for v in vals]),  # type: ignore[union-attr]
            f"sum of {len(vals)} forces",
            [f for v in vals for f in v.used],  # type: ignore[union-attr]
            coverage,
        )
        for v in vals:
            y.notes.extend(v.notes)  # type: ignore[union-attr]
        if direct is not None and direct.value is not None and direct.value != total:
            y.notes.append(
                f"{geo.name} {period.label}: the sum of its forces ({num(total):,}) differs from "
                f"the {num(direct.value):,} published for the area"
            )
        return y

    # -- choosing source, offence, span ------------------------------------------------------

    def _count_figs(self, figs: list[FigureRow]) -> list[FigureRow]:
        return [f for f in figs if f.measure == "count" and f.period_type == "year"]

    def summary(
        self,
        geography: str,
        first: str | None = None,
        last: str | None = None,
        *,
        source: str | None = None,
        offence: str | None = None,
        release: int | None = None,
        from_forces: bool = False,
    ) -> Summary:
        geo = self.gaz.resolve(geography)
        if source is not None and source not in reference.SOURCES:
            raise StatsError(
                f"unknown source {source!r} (choose from {', '.join(reference.SOURCES)})"
            )
        figs = self._load(geo, offence)
        p_first = parse_period(first) if first else None
        p_last = parse_period(last) if last else None
        for p in (p_first, p_last):
            if p is not None and p.quarter:
                raise StatsError(f"{p.label}: summaries are by whole year; leave out the quarter")
        if not figs:
            raise NoFigures(
                f"no figures for {geo.name} (import some with `safeguard stats import`)"
            )
        counts = self._count_figs(figs)
        given = p_first or p_last
        kind = given.kind if given else self._main_kind(counts)
        order = reference.SOURCE_ORDER
        if p_first and p_last:
            span = Span.of(p_first, p_last)
        else:
            # the span runs over the years the chosen (or best-covered) source has values for
            lo = p_first.start if p_first else None
            hi = p_last.start if p_last else None
            all_years = sorted(
                {f.period_last for f in counts if f.year_kind == kind}
                | {
                    y
                    for f in figs
                    if f.year_kind == kind and f.measure in ("total", "pct_change")
                    for y in (f.period_first, f.period_last)
                    if y is not None
                }
            )
            all_years = [
                y for y in all_years if (lo is None or y >= lo) and (hi is None or y <= hi)
            ]
            if not all_years:
                raise NoFigures(f"no {kind_name(kind)} figures for {geo.name} in that span")
            wide = Span(kind, all_years[0], all_years[-1])
            valued = self._score(figs, geo, wide, offence, release, from_forces)
            valued.sort(key=lambda t: (-len(t[0]), order.index(t[1])))
            if source is not None:
                valued.sort(key=lambda t: t[1] != source)
            years = valued[0][0] or all_years
            span = Span(
                kind, lo if lo is not None else years[0], hi if hi is not None else years[-1]
            )
            if span.last < span.first:
                raise NoFigures(f"no {kind_name(kind)} figures for {geo.name} in that span")
        requested = source
        scored = [
            (len(ys), src, off)
            for ys, src, off in self._score(figs, geo, span, offence, release, from_forces)
        ]
        scored.sort(key=lambda t: (-t[0], order.index(t[1])))
        if scored[0][0] == 0:
            scored.sort(
                key=lambda t: (-self._published_count(figs, geo, span, t[1]), order.index(t[1]))
            )
        if requested is not None:
            scored.sort(key=lambda t: t[1] != requested)
        n, src, off = scored[0]
        published = self._published(figs, geo, span, release)
        if n == 0 and not any(p["source"] == src for p in published):
            have = sorted(
                {
                    Period(f.year_kind, f.period_last).label
                    for f in counts
                    if f.year_kind == span.kind
                }
            )
            other_kind = sorted(
                {
                    Period(f.year_kind, f.period_last).label
                    for f in counts
                    if f.year_kind != span.kind
                }
            )
            hint = ""
            if not have and other_kind:
                other = "cy" if span.kind == FY else FY
                hint = (
                    f"; its figures are by {kind_name(other)} ({', '.join(other_kind[:6])}), "
                    "and financial and calendar years are kept apart"
                )
            elif have:
                hint = f"; figures exist for {', '.join(have[:10])}"
            who = reference.SOURCES[src].label if requested else "any source"
            raise NoFigures(
                f"no {kind_name(span.kind)} figures for {geo.name} from {who} in {span.label}{hint}"
            )
        off = off or "image"
        series = [
            self.year_value(figs, geo, p, src, off, release, from_forces) for p in span.periods()
        ]
        notes: list[str] = []
        for y in series:
            for note in y.notes:
                if note not in notes:
                    notes.append(note)
        others: list[dict[str, object]] = []
        for m, osrc, ooff in scored:
            if osrc != src and m:
                others.append({"source": osrc, "offence": ooff, "years_with_figures": m})
        summary = Summary(
            geo,
            src,
            off,
            span,
            series,
            [p for p in published if p["source"] == src]
            + [p for p in published if p["source"] != src],
            self.platforms_for(figs, geo, span, release),
            others,
            notes,
            [],
            [],
        )
        self.check_published(summary)
        summary.caveats = self._caveats(summary)
        summary.citations = self._citations(summary, figs)
        return summary

    def _main_kind(self, counts: list[FigureRow]) -> str:
        fy = sum(f.year_kind == FY for f in counts)
        return FY if fy >= len(counts) - fy else "cy"

    def _score(
        self,
        figs: list[FigureRow],
        geo: Geography,
        span: Span,
        offence: str | None,
        release: int | None,
        from_forces: bool,
    ) -> list[tuple[list[int], str, str | None]]:
        """For each source: the years of the span it has a value for, with the offence measure
        that gives most years (all image offences on a tie)."""
        counts = self._count_figs(figs)
        out: list[tuple[list[int], str, str | None]] = []
        for src in reference.SOURCES:
            offered = {f.offence for f in counts if f.source == src}
            candidates = [offence] if offence else [o for o in IMAGE_OFFENCES if o in offered]
            best: tuple[list[int], str | None] = ([], candidates[0] if candidates else None)
            for off in candidates:
                ys = [
                    p.start
                    for p in span.periods()
                    if self.year_value(figs, geo, p, src, off, release, from_forces).value
                    is not None
                ]
                if len(ys) > len(best[0]):
                    best = (ys, off)
            out.append((best[0], src, best[1]))
        return out

    # -- published totals and changes --------------------------------------------------------

    def _published_count(self, figs: list[FigureRow], geo: Geography, span: Span, src: str) -> int:
        return sum(1 for p in self._published(figs, geo, span, None) if p["source"] == src)

    def _published(
        self, figs: list[FigureRow], geo: Geography, span: Span, release: int | None
    ) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        same = {geo.key, *(geo.members if len(geo.members) == 1 else ())}
        for f in figs:
            if f.geography not in same or f.measure not in ("total", "pct_change"):
                continue
            if f.year_kind != span.kind or not self._eligible(f, release):
                continue
            # a span whose start the source leaves unclear ("five/six years to 2021/22") is
            # shown only with summaries ending in its last year
            inside = span.first <= f.period_last <= span.last and (
                span.first <= f.period_first
                if f.period_first is not None
                else f.period_last == span.last
            )
            if not inside:
                continue
            out.append(
                {
                    "measure": f.measure,
                    "period": f.period_label,
                    "value": num(f.value),
                    "qualifier": f.qualifier,
                    "offence": f.offence,
                    "source": f.source,
                    "basis": f.basis,
                    "release": f.release,
                    "url": f.source_url,
                    "note": f.note,
                    "first": None
                    if f.period_first is None
                    else Period(span.kind, f.period_first).label,
                    "last": Period(span.kind, f.period_last).label,
                }
            )
        out.sort(key=lambda p: (str(p["measure"]), str(p["period"]), str(p["release"])))
        return out

    def check_published(self, summary: Summary, release: int | None = None) -> None:
        """Add to each published total or change what the series gives for the same years."""
        by_year = {y.period.start: y for y in summary.series}
        for p in summary.published:
            if (
                p["source"] != summary.source
                or p["offence"] != summary.offence
                or p["first"] is None
            ):
                continue
            a = parse_period(str(p["first"])).start
            b = parse_period(str(p["last"])).start
            if p["measure"] == "total":
                ys = [by_year.get(y) for y in range(a, b + 1)]
                if all(y is not None and y.value is not None for y in ys):
                    p["computed"] = num(sum(y.value or 0 for y in ys))  # type: ignore[union-attr, misc]
            else:
                ya, yb = by_year.get(a), by_year.get(b)
                if ya is not None and yb is not None:
                    p["computed"] = pct_change(ya.value, yb.value)

    # -- platforms ---------------------------------------------------------------------------

    def platforms_for(
        self, figs: list[FigureRow], geo: Geography, span: Span, release: int | None
    ) -> list[dict[str, object]]:
        """Platform counts and shares where police identified one, year by year: as published
        for the area, or computed from forces' returns."""
        out: list[dict[str, object]] = []
        groups = reference.platform_groups()
        plat = [
            f
            for f in figs
            if f.measure == "platform"
            and f.year_kind == span.kind
            and span.first <= f.period_last <= span.last
            and self._eligible(f, release)
        ]
        for year in range(span.first, span.last + 1):
            label = Period(span.kind, year).label
            pub = [
                f
                for f in plat
                if f.geography == geo.key and not f.is_primary and f.period_last == year
            ]
            latest: dict[str, FigureRow] = {}
            for f in sorted(pub, key=_rank):
                latest[f.platform] = f
            counts = {p: f.value for p, f in latest.items() if f.value is not None}
            for name, f in latest.items():
                row: dict[str, object] = {
                    "period": label,
                    "platform": name,
                    "count": num(f.value),
                    "share_pct": f.share_pct,
                    "qualifier": f.qualifier,
                    "basis": "published",
                    "note": f.note,
                    "release": f.release,
                    "url": f.source_url,
                }
                members = groups.get(name)
                if members and all(m in counts for m in members if m != "Facebook Messenger"):
                    present = [m for m in members if m in counts]
                    row["members"] = present
                    row["computed_count"] = num(sum(counts[m] or 0 for m in present))
                out.append(row)
            # forces' own returns: share of offences where a platform was identified
            returns = [
                f
                for f in plat
                if f.is_primary and f.period_last == year and f.geography in geo.members
            ]
            if returns:
                out.extend(self._computed_shares(returns, geo, label, groups))
        return out

    def _computed_shares(
        self,
        returns: list[FigureRow],
        geo: Geography,
        label: str,
        groups: dict[str, list[str]],
    ) -> list[dict[str, object]]:
        per: dict[str, float] = defaultdict(float)
        forces = sorted({self.gaz.get(f.geography).name for f in returns})
        for f in returns:
            per[f.platform] += f.value or 0
        grouped = set(groups)
        identified = sum(
            v for p, v in per.items() if p != reference.NOT_IDENTIFIED and p not in grouped
        )
        rows: list[dict[str, object]] = []
        for name, v in sorted(per.items(), key=lambda kv: -kv[1]):
            share = (
                round(v / identified * 100, 1)
                if identified and name != reference.NOT_IDENTIFIED and name not in grouped
                else None
            )
            rows.append(
                {
                    "period": label,
                    "platform": name,
                    "count": num(v),
                    "share_pct": share,
                    "qualifier": "exact",
                    "basis": (
                        f"computed from FOI returns of {len(forces)} of {len(geo.members)} forces"
                    ),
                    "identified_total": num(identified),
                    "forces": forces,
                }
            )
        for gname, members in groups.items():
            have = [m for m in members if m in per]
            if have and gname not in per:
                v = sum(per[m] for m in have)
                rows.append(
                    {
                        "period": label,
                        "platform": gname,
                        "members": have,
                        "count": num(v),
                        "share_pct": round(v / identified * 100, 1) if identified else None,
                        "qualifier": "exact",
                        "basis": f"computed: {' + '.join(have)}",
                        "identified_total": num(identified),
                        "forces": forces,
                    }
                )
        return rows

    # -- coverage ----------------------------------------------------------------------------

    def coverage(
        self,
        geography: str,
        period: str,
        *,
        source: str = "nspcc",
        offence: str | None = None,
        release: int | None = None,
    ) -> dict[str, object]:
        geo = self.gaz.resolve(geography)
        p = parse_period(period)
        figs = self._load(geo, offence)
        if offence:
            off = offence
        else:  # the offence measure most forces have a figure for in that year
            offered = [o for o in IMAGE_OFFENCES if any(f.offence == o for f in figs)] or ["image"]
            off = max(
                offered,
                key=lambda o: sum(
                    (v := self._direct(figs, m, p, source, o, release)) is not None
                    and v.value is not None
                    for m in geo.members
                ),
            )
        forces = []
        for m in geo.members:
            v = self._direct(figs, m, p, source, off, release)
            forces.append(
                {
                    "force": self.gaz.get(m).name,
                    "value": None if v is None else num(v.value),
                    "qualifier": None if v is None or v.value is None else v.qualifier,
                }
            )
        got = [f for f in forces if f["value"] is not None]
        direct = self._direct(figs, geo.key, p, source, off, release) if geo.kind != FORCE else None
        return {
            "geography": geo.name,
            "period": p.label,
            "source": source,
            "offence": off,
            "forces": len(forces),
            "reported": len(got),
            "missing": [f["force"] for f in forces if f["value"] is None],
            "sum_of_reported": num(sum(f["value"] or 0 for f in got)),  # type: ignore[misc]
            "complete": len(got) == len(forces),
            "published_for_area": None if direct is None else num(direct.value),
            "by_force": forces,
        }

    # -- caveats and citations ---------------------------------------------------------------

    def _caveats(self, s: Summary) -> list[str]:
        out = []
        if s.span.kind == FY:
            out.append("Years are police financial years (1 April to 31 March).")
        else:
            out.append(
                "Years are calendar years, as the returns gave them; they are not "
                "comparable with financial-year figures."
            )
        if s.source == "nspcc":
            out.append(
                "Figures come from Freedom of Information requests by the NSPCC; forces that did "
                "not answer are missing, and each release may revise earlier years."
            )
        if s.source == "home-office":
            out.append(
                "Home Office figures are as published in the imported tables; later releases "
                "may revise them."
            )
        if s.offence == "86":
            out.append(reference.offences()["86"].note.capitalize() + ".")
        if s.source == "scottish-government":
            out.append(
                "Scottish figures follow Scots law and Scottish crime recording; they are not "
                "directly comparable with England and Wales."
            )
        if s.source == "psni":
            out.append("Northern Ireland figures follow PSNI crime recording.")
        releases = sorted({f.release for y in s.available for f in y.used if not f.is_primary})
        if len(releases) > 1:
            out.append(
                f"The yearly figures come from different releases ({', '.join(releases)}); "
                "later releases may revise earlier years."
            )
        quals = {y.qualifier for y in s.available} - {"exact"}
        for q in sorted(quals):
            periods = ", ".join(y.period.label for y in s.available if y.qualifier == q)
            out.append(f"The {periods} figure is given as '{q}' in its source.")
        cov = {(y.coverage or {}).get("reported") for y in s.available if y.coverage is not None}
        if len(cov) > 1:
            out.append("Years are built from different numbers of forces; compare with care.")
        if s.geography.population:
            out.append("Rates per 100,000 people use a " + POPULATION_NOTE + ".")
        return out

    def _citations(self, s: Summary, figs: list[FigureRow]) -> list[dict[str, str]]:
        seen: dict[str, dict[str, str]] = {}
        for y in s.series:
            for f in y.used:
                key = f.source_url or f.file_name
                seen.setdefault(
                    key,
                    {
                        "source": f.source,
                        "basis": f.basis,
                        "release": f.release,
                        "url": f.source_url,
                        "file": f.file_name,
                    },
                )
        for p in s.published:
            key = str(p["url"]) or str(p["basis"])
            seen.setdefault(
                key,
                {
                    "source": str(p["source"]),
                    "basis": str(p["basis"]),
                    "release": str(p["release"]),
                    "url": str(p["url"]),
                    "file": "",
                },
            )
        return list(seen.values())
