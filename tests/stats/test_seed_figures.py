"""Every figure in the seed articles that the shipped data supports, through `stats summary`.

Expected values are the articles' own words (quoted next to each assertion) or rows of the
press figures file (tests/data/crime-stats/) read here with the csv module; none comes from
safeguard. The articles themselves are not in the repository (they are the press's): where the
project's shared data sets are at hand (../shared/seeds/ or SAFEGUARD_SHARED_DIR, as in CI),
each quote is also checked against its article. Figures the data cannot support are listed in
docs/stats.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cli
from tests.stats.conftest import SEEDS, press_value

DEVON = "000_2cee20f95ce390f6.txt"
SUSSEX = "001_9461f14e3fece5a5.txt"
WALES = "002_ed3184764dbc62d1.txt"
UK_2023 = "003_2a1244f5636470e9.txt"
DORSET = "004_a6a54ff2db0df916.txt"


def quote(seed: str, text: str) -> None:
    """The expected figure really is in the article (whitespace-insensitive), where the
    articles are at hand."""
    if not (SEEDS / seed).is_file():
        return
    article = " ".join((SEEDS / seed).read_text(encoding="utf-8").split())
    assert " ".join(text.split()) in article, f"{text!r} not in {seed}"


def summary(cli: Cli, geography: str, first: str, last: str, *extra: str) -> dict[str, Any]:
    data = cli.json(
        "stats", "summary", "--geography", geography, "--from", first, "--to", last, *extra
    )
    assert isinstance(data, dict)
    return data


def series(data: dict[str, Any]) -> dict[str, int | None]:
    return {y["period"]: y["value"] for y in data["series"]}


def published(data: dict[str, Any], measure: str, period: str) -> dict[str, Any]:
    found = [p for p in data["published"] if p["measure"] == measure and p["period"] == period]
    assert len(found) == 1, data["published"]
    return found[0]


def test_devon_and_cornwall_series_and_five_year_total(figures_cli: Cli) -> None:
    quote(DEVON, "931 of those crimes occurred here in 2020-21")
    quote(
        DEVON,
        "675 were in 2019-20, 686 in 2018-19, 829 were in 2017-18 and 511 occurred in 2016-17",
    )
    quote(
        DEVON,
        "over 3,500 child abuse image crimes have been recorded by Devon and Cornwall Police "
        "in the last five years",
    )
    # the article's own spelling of the force and of the years
    data = summary(figures_cli, "Devon and Cornwall Police", "2016-17", "2020-21")
    assert data["geography"] == "Devon and Cornwall"
    assert data["source"] == "nspcc"
    assert series(data) == {
        "2016/17": 511,
        "2017/18": 829,
        "2018/19": 686,
        "2019/20": 675,
        "2020/21": 931,
    }
    assert data["from"] == {"period": "2016/17", "value": 511}
    assert data["to"] == {"period": "2020/21", "value": 931}
    assert data["total"] == 511 + 829 + 686 + 675 + 931
    assert data["total"] > 3500
    assert data["peak"] == {"period": "2020/21", "value": 931}
    assert data["missing_periods"] == []
    assert data["change_pct"] == round((931 - 511) / 511 * 100, 1)


def test_dorset_total_of_1154(figures_cli: Cli) -> None:
    quote(
        DORSET,
        "since 2016/17 there have been 1,154 child abuse image offenses recorded by Dorset Police",
    )
    quote(
        DORSET,
        "In 2016/17, 185 offenses were recorded, 266 recorded in 2017/18, 265 recorded in "
        "2018/19, 226 recorded in 2019/20",
    )
    quote(DORSET, "between 2020 and 2021, 212 child abuse image offenses were recorded")
    data = summary(figures_cli, "Dorset", "2016/17", "2020/21")
    assert data["total"] == 1154
    assert series(data) == {
        "2016/17": 185,
        "2017/18": 266,
        "2018/19": 265,
        "2019/20": 226,
        "2020/21": 212,
    }
    assert data["to"] == {"period": "2020/21", "value": 212}
    assert data["peak"] == {"period": "2017/18", "value": 266}
    total = published(data, "total", "2016/17-2020/21")
    assert (total["value"], total["computed"]) == (1154, 1154)


def test_wales_43_percent_rise(figures_cli: Cli) -> None:
    quote(WALES, "43% increase in child abuse image crimes in Wales over the last five years")
    quote(WALES, "a total of 2,061 crimes were recorded, compared to 1,437 crimes in 2017")
    # the article's "2022" and "2017" are the financial years 2021/22 and 2016/17
    data = summary(figures_cli, "Wales", "2016/17", "2021/22")
    assert data["from"] == {"period": "2016/17", "value": 1437}
    assert data["to"] == {"period": "2021/22", "value": 2061}
    assert round(data["change_pct"]) == 43
    # three years have no Welsh figure in the data: no total is invented
    assert data["missing_periods"] == ["2018/19", "2019/20", "2020/21"]
    assert data["total"] is None


def test_wales_calendar_years_are_not_financial_years(figures_cli: Cli) -> None:
    result = figures_cli(
        "stats", "summary", "--geography", "Wales", "--from", "2017", "--to", "2022", "--json"
    )
    assert result.exit_code == 2
    assert "calendar year" in result.stderr and "financial year" in result.stderr


def test_north_wales(figures_cli: Cli) -> None:
    quote(WALES, "North Wales Police recorded 514 offences last year up from 287 offences in 2017")
    data = summary(figures_cli, "North Wales", "2016/17", "2021/22")
    assert data["from"] == {"period": "2016/17", "value": 287}
    assert data["to"] == {"period": "2021/22", "value": 514}


def test_uk_last_year_figures(figures_cli: Cli) -> None:
    quote(DEVON, "with more than 25,000 crimes last year")
    quote(WALES, "over 30,000 such crimes taking place across the UK last year alone")
    quote(UK_2023, "police recorded more than 33,000 child abuse image crimes last year")
    data = summary(figures_cli, "UK", "2020/21", "2022/23")
    values = series(data)
    assert values["2020/21"] > 25_000
    assert values["2021/22"] > 30_000
    assert values["2022/23"] == 33_000
    last = data["series"][-1]
    assert last["qualifier"] == "more than"


def test_uk_five_years_passed_100000(figures_cli: Cli) -> None:
    quote(DEVON, "Offences recorded by police UK-wide passed 100,000 in five years")
    quote(DORSET, "In the United Kingdom, 107,555 infringements were recorded over the five years.")
    data = summary(figures_cli, "United Kingdom", "2016/17", "2020/21")
    # the yearly UK figures for 2018/19 and 2019/20 are not in the data: only the published total
    assert data["total"] is None
    assert data["missing_periods"] == ["2018/19", "2019/20"]
    total = published(data, "total", "2016/17-2020/21")
    assert total["value"] > 100_000 and total["qualifier"] == "approx"


def test_uk_rise_since_2016_17(figures_cli: Cli) -> None:
    quote(DEVON, "up 37% since 2016/17")
    data = summary(figures_cli, "UK", "2016/17", "2020/21", "--release", "2021")
    assert published(data, "pct_change", "2016/17->2020/21")["value"] == 37
    # as published up to the 2021 release: 2016/17 from the 2018 release, 2020/21 from 2021
    first = press_value("United Kingdom", "2016/17", release="2018")
    last = press_value("United Kingdom", "2020/21", release="2021")
    assert data["from"]["value"] == first and data["to"]["value"] == last
    assert data["change_pct"] == round((last - first) / first * 100, 1)


def test_uk_rise_to_2021_22(figures_cli: Cli) -> None:
    # "number of crimes involving child abuse images soars by 66%" (2023 release)
    data = summary(figures_cli, "UK", "2016/17", "2021/22")
    assert round(data["change_pct"]) == 66


def test_south_west(figures_cli: Cli) -> None:
    quote(
        DORSET,
        "In the southwest, a total of 6,852 child abuse image offenses were recorded by police "
        "forces over a five-year period.",
    )
    quote(DEVON, "Nearly 7,000 offences were recorded by police forces across the South West")
    quote(
        DEVON, "Offences also jumped by 26% in the South West during the first year of the pandemic"
    )
    data = summary(figures_cli, "South West", "2016/17", "2020/21")
    total = published(data, "total", "2016/17-2020/21")
    assert total["value"] == 6852 and total["qualifier"] == "exact"
    assert published(data, "pct_change", "2019/20->2020/21")["value"] == 26
    # not every South West force's yearly figures are in the data, so no total is computed
    assert data["total"] is None
    assert "computed" not in total


def test_sussex_peak(figures_cli: Cli) -> None:
    quote(SUSSEX, "peaked at 571 in 2020/21")
    quote(
        SUSSEX,
        "More than 3,380 child abuse image crimes were recorded by police in Sussex over the "
        "last five years",
    )
    data = summary(figures_cli, "Sussex", "2016/17", "2020/21")
    assert data["peak"] == {"period": "2020/21", "value": 571}
    total = published(data, "total", "2016/17-2020/21")
    assert (total["value"], total["qualifier"]) == (3380, "more than")


def test_platform_shares(figures_cli: Cli) -> None:
    quote(WALES, "Snapchat was found to be the social media site used in 43% of instances")
    quote(WALES, "were used in a third of instances where a site was flagged")
    quote(UK_2023, "Snapchat was involved in almost half of the offences (44%)")
    quote(UK_2023, "were used in a quarter of offences where the platform was identified")
    data = figures_cli.json("stats", "platforms", "--geography", "UK")
    rows = {(r["period"], r["platform"]): r for r in data["platforms"]}  # type: ignore[index]
    assert rows[("2021/22", "Snapchat")]["share_pct"] == 43
    assert rows[("2022/23", "Snapchat")]["share_pct"] == 44
    assert rows[("2021/22", "Meta")]["share_pct"] == 33
    assert rows[("2022/23", "Meta")]["share_pct"] == 26
    # Meta's 2021/22 count is the sum of its three platforms' published counts
    parts = [rows[("2021/22", p)]["count"] for p in ("Facebook", "Instagram", "WhatsApp")]
    assert rows[("2021/22", "Meta")]["computed_count"] == sum(parts)
    assert rows[("2021/22", "Meta")]["count"] == sum(parts)


# other published totals, checked against the yearly figures: (area, from, to, measure as in
# the shared press figures file, extra arguments)
TOTALS = [
    ("Cheshire", "2016/17", "2020/21", "offences (5-year total)", ()),
    ("Lancashire", "2016/17", "2021/22", "offences (6-year total)", ()),
    ("Police Scotland", "2019/20", "2023/24", "offences (5-year total)", ()),
    ("United Kingdom", "2016/17", "2017/18", "offences (2-year total)", ("--release", "2018")),
]


@pytest.mark.parametrize(("area", "first", "last", "measure", "extra"), TOTALS)
def test_published_totals_match_the_yearly_figures(
    figures_cli: Cli, area: str, first: str, last: str, measure: str, extra: tuple[str, ...]
) -> None:
    expected = press_value(area, f"{first}-{last}", measure)
    data = summary(figures_cli, area, first, last, *extra)
    assert data["missing_periods"] == []
    assert data["total"] == expected


def test_lancashire_92_percent(figures_cli: Cli) -> None:
    # lep.co.uk: "Lancashire sees child abuse image offences rise by 92 per cent"
    data = summary(figures_cli, "Lancashire", "2016/17", "2021/22")
    assert round(data["change_pct"]) == 92


# area figures rebuilt from their forces (--from-forces) against the area figure published
FROM_FORCES = [
    ("Wales", "2016/17", ()),
    ("Wales", "2017/18", ()),
    ("Wales", "2023/24", ("--source", "home-office")),
    ("region:West Midlands", "2023/24", ("--source", "home-office")),
    ("Yorkshire and The Humber", "2023/24", ("--source", "home-office")),
]


@pytest.mark.parametrize(("area", "period", "extra"), FROM_FORCES)
def test_area_figures_equal_the_sum_of_their_forces(
    figures_cli: Cli, area: str, period: str, extra: tuple[str, ...]
) -> None:
    kind, _, name = area.rpartition(":")
    expected = press_value(name, period, kind=kind or None)
    data = summary(figures_cli, area, period, period, "--from-forces", *extra)
    assert data["total"] == expected
    cover = data["series"][0]["coverage"]
    assert cover["missing"] == [] and cover["reported"] == cover["forces"]


# changes in the headlines of other coverage (in the URLs of the shared press figures file)
HEADLINE_CHANGES = [
    # "child-abuse-images-surge-by-almost-150-per-cent-in-five-years"
    ("region:West Midlands", "2016/17", "2021/22", lambda pct: 140 <= pct < 150),
    # "child-abuse-image-crimes-have-risen-by-more-than-200-per-cen..."
    ("Thames Valley", "2020/21", "2021/22", lambda pct: pct > 200),
    # "child-sex-abuse-image-crimes-double-in-five-years"
    ("Northern Ireland", "2018/19", "2023/24", lambda pct: round(pct / 10) == 10),
]


@pytest.mark.parametrize(("area", "first", "last", "check"), HEADLINE_CHANGES)
def test_headline_changes(figures_cli: Cli, area: str, first: str, last: str, check) -> None:  # type: ignore[no-untyped-def]
    data = summary(figures_cli, area, first, last)
    assert check(data["change_pct"]), data["change_pct"]
