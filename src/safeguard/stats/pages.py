"""The statistics as the web UI's /ui/stats page shows them: the areas a reader can pick
(nations, regions, forces and the groupings, as the gazetteer knows them), and for one area
its recorded-crime series, ready to draw, with the briefing `briefing.build` writes for it.

Everything comes from `Analysis.summary` and `briefing.build`, as `safeguard stats summary`
and `safeguard stats briefing` get it; nothing here computes a figure. The published
figures shipped with safeguard are loaded on first use, so the page works in a store where
nothing was imported.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from safeguard.stats import reference
from safeguard.stats.analysis import IMAGE_OFFENCES, Summary
from safeguard.stats.briefing import Block, build
from safeguard.stats.errors import NoFigures, StatsError
from safeguard.stats.geography import FORCE, GROUP, NATION, REGION, UK, Geography, gazetteer
from safeguard.stats.service import StatsService

#: the area a page shows when none is asked for
DEFAULT_AREA = "uk:united-kingdom"
#: the picker's groups, in order: (label, kinds of area)
GROUPS = (
    ("The UK and groupings", (UK, GROUP)),
    ("Nations", (NATION,)),
    ("Regions of England", (REGION,)),
    ("Police forces", (FORCE,)),
)
#: the briefing's closing sections, shown beside its text
APPARATUS = ("Notes on the figures", "Caveats", "Sources")
#: the qualifiers a bar's label shows as a sign (the table says them in words)
SIGNS = {"more than": ">", "approx": "~"}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Picker:
    """What a reader can choose: areas in groups, offence measures, sources."""

    areas: tuple[tuple[str, tuple[Choice, ...]], ...]
    offences: tuple[Choice, ...]
    sources: tuple[Choice, ...]


def picker() -> Picker:
    gaz = gazetteer()
    areas = []
    for label, kinds in GROUPS:
        found = [g for g in gaz.by_key.values() if g.kind in kinds]
        found.sort(key=lambda g: (g.kind != UK, g.name.lower()))
        areas.append((label, tuple(Choice(g.key, g.name) for g in found)))
    offences = tuple(Choice(code, reference.offence_label(code)) for code in IMAGE_OFFENCES)
    sources = tuple(Choice(s.key, s.label) for s in reference.SOURCES.values())
    return Picker(tuple(areas), offences, sources)


@dataclass(frozen=True)
class Bar:
    """One year of the series: its value (None: no figure) and how to label it."""

    period: str
    value: float | None
    qualifier: str
    label: str


@dataclass
class AreaView:
    """One area's figures as the page shows them. With no figures for the area (the shipped
    figures do not cover every force), `summary` is None and `missing` says what to do."""

    geography: Geography
    offence: str | None
    source: str | None
    summary: Summary | None = None
    bars: list[Bar] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    headline: str = ""
    #: the same figures on the command line, and the briefing's files (Markdown, HTML, chart)
    command: str = ""
    briefing_command: str = ""
    missing: str = ""

    @property
    def peak(self) -> float:
        return max((b.value or 0 for b in self.bars), default=0)

    @property
    def peak_bar(self) -> Bar | None:
        """The year with the highest figure (the latest on a tie), as `Summary.peak`."""
        peak = self.summary.peak if self.summary is not None else None
        return next((b for b in self.bars if peak and b.period == peak.period.label), None)

    @property
    def change_bound(self) -> str:
        """How to read the change when either end is a bound or an estimate, as the briefing
        says it: "at least", "at most", "about" (or "" when both are exact)."""
        if self.summary is None:
            return ""
        ends = (self.summary.first.qualifier, self.summary.last.qualifier)
        if set(ends) <= {"exact"}:
            return ""
        return {("exact", "more than"): "at least", ("more than", "exact"): "at most"}.get(
            ends, "about"
        )

    @property
    def story(self) -> list[Block]:
        """The briefing's text up to its notes, caveats and sources; without the chart and
        the figures table, which the page draws itself."""
        return [
            b
            for b in self.blocks[: self._apparatus_at()]
            if b.kind not in ("img", "table") and not (b.kind == "h2" and b.text == "Figures")
        ]

    @property
    def table(self) -> list[list[str]]:
        """The briefing's figures table: a header row, a row a year, the total if any."""
        return next((b.rows or [] for b in self.blocks if b.kind == "table"), [])

    @property
    def apparatus(self) -> list[Block]:
        """The briefing's notes on the figures, caveats and sources."""
        return self.blocks[self._apparatus_at() :]

    def _apparatus_at(self) -> int:
        heads = [i for i, b in enumerate(self.blocks) if b.kind == "h2" and b.text in APPARATUS]
        return heads[0] if heads else len(self.blocks)

    @property
    def other_sources(self) -> list[dict[str, object]]:
        """Other sources with figures for the span (never mixed into the series)."""
        if self.summary is None:
            return []
        return [
            {**o, "label": reference.SOURCES[str(o["source"])].label}
            for o in self.summary.other_sources
        ]


def find_area(area: str) -> Geography:
    """The area a picker value (`force:dorset`) or a name (`Devon & Cornwall`) means;
    UnknownGeography (with the closest names) when none."""
    gaz = gazetteer()
    return gaz.by_key.get(area) or gaz.resolve(area)


def area_view(
    stats: StatsService, area: str = "", *, offence: str = "", source: str = ""
) -> AreaView:
    """The series and briefing of `area` (default: the UK), for one offence measure and
    source when given (else the ones with most years, as `stats summary` chooses)."""
    geo = find_area(area or DEFAULT_AREA)
    if offence and offence not in IMAGE_OFFENCES:
        raise StatsError(
            f"unknown offence measure {offence!r} (choose from {', '.join(IMAGE_OFFENCES)})"
        )
    if source and source not in reference.SOURCES:
        raise StatsError(f"unknown source {source!r} (choose from {', '.join(reference.SOURCES)})")
    view = AreaView(geo, offence or None, source or None)
    try:
        s = stats.summary(geo.key, offence=offence or None, source=source or None)
    except NoFigures as e:
        view.missing = str(e)
        return view
    blocks, meta = build(stats.analysis, s)
    view.summary = s
    view.blocks = blocks
    view.headline = meta["headline"]
    view.bars = [
        Bar(y.period.label, y.value, y.qualifier, _label(y.value, y.qualifier)) for y in s.series
    ]
    span = ["--from", s.first.period.label, "--to", s.last.period.label, "--source", s.source]
    where = ["--geography", geo.name]
    view.command = shlex.join(
        ["safeguard", "stats", "summary", *where, *span, "--offence", s.offence]
    )
    if not offence:  # `stats briefing` takes the measure with most years, as this page did
        view.briefing_command = shlex.join(
            ["safeguard", "stats", "briefing", *where, *span, "--out", "briefing"]
        )
    return view


def _label(value: float | None, qualifier: str) -> str:
    if value is None:
        return "no figure"
    return f"{SIGNS.get(qualifier, '')}{value:,.0f}"
