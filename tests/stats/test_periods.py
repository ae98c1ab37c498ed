"""Financial years, quarters and calendar years: the forms people write, kept apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeguard.stats.periods import (
    CY,
    FY,
    Period,
    PeriodError,
    Span,
    parse_period,
    parse_published_period,
)


@pytest.mark.parametrize(
    "text",
    [
        "2016/17",
        "2016-17",
        "2016/2017",
        "2016-2017",
        "FY16/17",
        "FY2016/17",
        "fy 2016-17",
        " 2016/17 ",
        "16/17",
        "2016–17",
    ],
)
def test_financial_year_forms(text: str) -> None:
    assert parse_period(text) == Period(FY, 2016)
    assert parse_period(text).label == "2016/17"


def test_calendar_years_are_not_financial_years() -> None:
    assert parse_period("2017") == Period(CY, 2017)
    assert parse_period("2017") != parse_period("2017/18")
    assert parse_period("2017") != parse_period("2016/17")
    with pytest.raises(PeriodError, match="calendar year"):
        parse_period("2017", kind=FY)
    with pytest.raises(PeriodError, match="financial year"):
        parse_period("2017/18", kind=CY)


def test_century_boundary_and_quarters() -> None:
    assert parse_period("1999/00").label == "1999/00"
    assert parse_period("2017/18 Q3") == Period(FY, 2017, 3)
    assert parse_period("2017/18 Q3").year == Period(FY, 2017)


@pytest.mark.parametrize("text", ["2016/18", "Q3 2016", "twenty sixteen", "", "2016/17/18", "3000"])
def test_unknown_period_forms_are_refused(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


def test_spans_do_not_mix_kinds() -> None:
    with pytest.raises(PeriodError, match="never mixed"):
        Span.of(parse_period("2016/17"), parse_period("2020"))
    span = Span.of(parse_period("2016/17"), parse_period("2020/21"))
    assert [p.label for p in span.periods()] == [
        "2016/17",
        "2017/18",
        "2018/19",
        "2019/20",
        "2020/21",
    ]


def test_published_periods() -> None:
    p = parse_published_period("2016/17-2020/21")
    assert (p.kind, p.first, p.last) == ("span", 2016, 2020)
    p = parse_published_period("2016-17 to 2020-21")
    assert (p.kind, p.first, p.last) == ("span", 2016, 2020)
    p = parse_published_period("2016/17->2020/21")
    assert (p.kind, p.first, p.last) == ("change", 2016, 2020)
    p = parse_published_period("five years to 2021/22")
    assert (p.kind, p.first, p.last) == ("span", 2017, 2021)
    p = parse_published_period("five/six years to 2021/22")
    assert (p.kind, p.first, p.last) == ("span", None, 2021)


@given(st.integers(1990, 2089), st.sampled_from(["{a}/{b2}", "{a}-{b2}", "FY{a2}/{b2}", "{a}/{b}"]))
def test_any_written_financial_year_round_trips(start: int, form: str) -> None:
    text = form.format(a=start, b=start + 1, a2=f"{start % 100:02d}", b2=f"{(start + 1) % 100:02d}")
    p = parse_period(text)
    assert p == Period(FY, start)
    assert parse_period(p.label) == p
