"""Reporting periods: financial years, their quarters, and calendar years, never confused.

Police figures in the UK are counted by financial year (1 April to 31 March), written
`2016/17`, `2016-17`, `2016/2017`, `FY16/17`. Some FOI returns count calendar years (`2017`).
The two are different periods and are kept apart: `2017` is never read as `2017/18` (or
`2016/17`). Published figures also name spans (`2016/17-2020/21`, `five years to 2021/22`)
and changes (`2016/17->2020/21`); `parse_published_period` reads those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safeguard.stats.errors import StatsError

FY = "fy"
CY = "cy"

_MIN_YEAR, _MAX_YEAR = 1990, 2100


class PeriodError(StatsError):
    """A period written in a form we do not recognise."""

    code = "bad_period"


@dataclass(frozen=True, order=True)
class Period:
    """One financial year (optionally one of its quarters) or one calendar year.

    `start` is the calendar year the period starts in: 2016 for 2016/17 and for 2016.
    Financial quarters count from April: Q1 is April to June.
    """

    kind: str
    start: int
    quarter: int | None = None

    @property
    def label(self) -> str:
        if self.kind == CY:
            return str(self.start)
        base = f"{self.start}/{(self.start + 1) % 100:02d}"
        return f"{base} Q{self.quarter}" if self.quarter else base

    @property
    def year(self) -> Period:
        """The whole year this period belongs to."""
        return Period(self.kind, self.start)

    def shifted(self, years: int) -> Period:
        return Period(self.kind, self.start + years, self.quarter)

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Span:
    """Consecutive whole years of one kind, first and last included."""

    kind: str
    first: int
    last: int

    @classmethod
    def of(cls, a: Period, b: Period) -> Span:
        if a.kind != b.kind:
            raise PeriodError(
                f"{a.label} is a {kind_name(a.kind)} and {b.label} a {kind_name(b.kind)}: "
                "a span must use one kind of year (financial and calendar years are never mixed)"
            )
        if a.quarter or b.quarter:
            raise PeriodError("spans are whole years: leave out the quarter")
        if b.start < a.start:
            raise PeriodError(f"the span ends ({b.label}) before it starts ({a.label})")
        return cls(a.kind, a.start, b.start)

    def periods(self) -> list[Period]:
        return [Period(self.kind, y) for y in range(self.first, self.last + 1)]

    def __contains__(self, p: object) -> bool:
        return isinstance(p, Period) and p.kind == self.kind and self.first <= p.start <= self.last

    @property
    def label(self) -> str:
        a, b = Period(self.kind, self.first), Period(self.kind, self.last)
        return a.label if a == b else f"{a.label}-{b.label}"

    def __len__(self) -> int:
        return self.last - self.first + 1


def kind_name(kind: str) -> str:
    return "financial year" if kind == FY else "calendar year"


_FY_RE = re.compile(
    r"^(?:fy\s*)?(?P<a>\d{4}|\d{2})\s*(?:/|-|–|_|\s+to\s+)\s*(?P<b>\d{4}|\d{2})$", re.I
)
_CY_RE = re.compile(r"^(?:cy\s*|calendar\s+year\s+)?(?P<y>\d{4})$", re.I)
_Q_RE = re.compile(r"^(?P<fy>.+?)\s*(?:q|quarter\s*)(?P<q>[1-4])$", re.I)

HELP = (
    "use a financial year such as 2016/17 (also 2016-17, 2016/2017, FY16/17) "
    "or a calendar year such as 2017"
)


def _fy(text: str) -> Period | None:
    m = _FY_RE.match(text)
    if not m:
        return None
    a, b = m.group("a"), m.group("b")
    # two-digit years: 90-99 are the 1990s, the rest this century
    start = int(a) if len(a) == 4 else (1900 if int(a) >= 90 else 2000) + int(a)
    end = int(b) if len(b) == 4 else (start // 100) * 100 + int(b)
    if len(b) == 2 and end < start:  # 1999/00
        end += 100
    if end != start + 1:
        raise PeriodError(
            f"{text!r} is not a financial year: the second year must follow the first ({HELP})"
        )
    _check_range(text, start)
    return Period(FY, start)


def _check_range(text: str, year: int) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise PeriodError(f"{text!r}: year {year} is out of range {_MIN_YEAR}-{_MAX_YEAR}")


def parse_period(text: object, *, kind: str | None = None) -> Period:
    """A financial year, financial quarter or calendar year from how people write them.

    `kind` (FY or CY) says what a column holds: then a bare `2017` in a financial-year
    column is an error rather than a calendar year.
    """
    raw = str(text).strip() if text is not None else ""
    if isinstance(text, float) and text.is_integer():
        raw = str(int(text))
    if not raw:
        raise PeriodError(f"empty period ({HELP})")
    m = _Q_RE.match(raw)
    if m:
        base = _fy(m.group("fy").strip())
        if base is None:
            raise PeriodError(f"unknown period format {raw!r}: quarters belong to financial years")
        return Period(FY, base.start, int(m.group("q")))
    p = _fy(raw)
    if p is None:
        m = _CY_RE.match(raw)
        if m:
            y = int(m.group("y"))
            _check_range(raw, y)
            p = Period(CY, y)
    if p is None:
        raise PeriodError(f"unknown period format {raw!r} ({HELP})")
    if kind is not None and p.kind != kind:
        raise PeriodError(
            f"{raw!r} is a {kind_name(p.kind)} but this column holds {kind_name(kind)}s"
        )
    return p


@dataclass(frozen=True)
class PublishedPeriod:
    """What a published figure covers: one year, a span of years (a total), or a change
    between two years. `first` is None for spans whose start the source leaves unclear."""

    kind: str  # "year", "span" or "change"
    year_kind: str
    first: int | None
    last: int
    label: str

    @property
    def span(self) -> Span | None:
        return None if self.first is None else Span(self.year_kind, self.first, self.last)


_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10}
_TRAILING_RE = re.compile(
    r"^(?P<n>[a-z]+(?:/[a-z]+)?|\d+)\s+years?\s+to\s+(?P<end>.+)$",
    re.I,
)


def parse_published_period(text: str) -> PublishedPeriod:
    """`2016/17`, `2016/17-2020/21`, `2016/17->2020/21`, `five years to 2021/22`..."""
    raw = text.strip()
    try:
        p = parse_period(raw)
        if p.quarter:
            raise PeriodError(f"{raw!r}: published figures cover whole years")
        return PublishedPeriod("year", p.kind, p.start, p.start, p.label)
    except PeriodError as e:
        if "unknown period format" not in e.message:
            raise
    m = _TRAILING_RE.match(raw)
    if m:
        end = parse_period(m.group("end"))
        words = m.group("n").lower().split("/")
        try:
            counts = [int(w) if w.isdigit() else _WORDS[w] for w in words]
        except KeyError:
            raise PeriodError(f"unknown period format {raw!r}") from None
        first = end.start - counts[0] + 1 if len(counts) == 1 else None
        return PublishedPeriod("span", end.kind, first, end.start, raw)
    # a change is written with an arrow; a span with a dash between two whole years
    for sep in ("->", "→"):
        if sep in raw:
            a, b = (parse_period(x) for x in raw.split(sep, 1))
            span = Span.of(a, b)
            return PublishedPeriod("change", span.kind, span.first, span.last, raw)
    # "2016/17-2020/21", "2016-17 to 2020-21": try every dash (or "to") as the separator
    for m in re.finditer(r"\s+to\s+|\s*[-–]\s*", raw):
        try:
            a, b = parse_period(raw[: m.start()]), parse_period(raw[m.end() :])
        except PeriodError:
            continue
        span = Span.of(a, b)
        return PublishedPeriod("span", span.kind, span.first, span.last, raw)
    raise PeriodError(f"unknown period format {raw!r} ({HELP}, or a span such as 2016/17-2020/21)")
