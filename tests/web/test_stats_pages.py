"""The statistics page (/ui/stats) over HTTP, for every logged-in user: a picker of nations,
regions and forces; the chosen area's series as a chart and a table, with its briefing,
the same figures `safeguard stats summary` gives; an unknown area is a 400 page.

The seeded site has no statistics imported: the published figures shipped with safeguard
load on first use, and the Home Office table of the statistics tests is imported through
the CLI into the site's store for the forces those figures leave out."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import DATA
from tests.web.conftest import Site, cli

PRC_CSV = DATA / "crime-stats" / "prc-pfa-mar2013-onwards-tables201718.csv"


@pytest.fixture(scope="module")
def home_office(site: Site) -> Site:
    """The site with the Home Office 2017/18 table imported, as an operator would."""
    out = cli(site.env, "stats", "import", str(PRC_CSV), "--json")
    assert json.loads(out)["imports"][0]["status"] == "imported"
    return site


def groups(html: str) -> dict[str, list[tuple[str, str]]]:
    """The area picker's groups: label -> [(value, name)]."""
    picker = html.split('<select name="area"', 1)[1].split("</select>", 1)[0]
    return {
        label: re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', body)
        for label, body in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', picker, re.S)
    }


def table(html: str) -> list[list[str]]:
    """The figures table's body: a row a year (and the total)."""
    body = html.split('id="figures"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def summary(site: Site, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(cli(site.env, "stats", "summary", *args, "--json"))  # type: ignore[no-any-return]


def test_the_picker_lists_nations_regions_and_forces(site: Site) -> None:
    r = site.login("aud").get("/ui/stats")  # every user: an auditor too
    assert r.status_code == 200
    found = groups(r.text)
    assert list(found) == ["The UK and groupings", "Nations", "Regions of England", "Police forces"]
    names = {label: [name for _, name in options] for label, options in found.items()}
    assert sorted(names["Nations"]) == ["England", "Northern Ireland", "Scotland", "Wales"]
    assert len(names["Regions of England"]) == 9 and "South West" in names["Regions of England"]
    assert len(names["Police forces"]) == 46
    assert {"Devon and Cornwall", "Cleveland", "Police Scotland"} <= set(names["Police forces"])
    assert names["The UK and groupings"][0] == "United Kingdom"
    assert ("force:devon-and-cornwall", "Devon and Cornwall") in found["Police forces"]
    # the UK is shown when nothing is chosen, from the figures shipped with safeguard
    assert '<option value="uk:united-kingdom" selected>' in r.text
    assert "<label>Offences" in r.text and "code 86" in r.text
    assert 'role="img"' in r.text and 'id="chart-title"' in r.text
    uk = summary(site, "--geography", "UK")
    assert [row[0] for row in table(r.text) if not row[0].startswith("Total")] == uk["periods"]
    assert "style=" not in r.text and "<script>" not in r.text


def test_a_force_shows_its_series_chart_and_briefing(site: Site) -> None:
    r = site.login("mo").get("/ui/stats", params={"area": "force:devon-and-cornwall"})
    assert r.status_code == 200
    expected = summary(site, "--geography", "Devon and Cornwall")
    rows = table(r.text)
    years = [row for row in rows if not row[0].startswith("Total")]
    assert [(row[0], row[1]) for row in years] == [
        (y["period"], f"{y['value']:,}") for y in expected["series"]
    ]
    assert rows[-1][:2] == ["Total 2016/17-2020/21", f"{expected['total']:,}"]  # 3,632
    # a bar a year, labelled with its value; the last year's darker
    chart = r.text.split('id="chart-title"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<rect") == len(expected["series"])
    assert ">931</text>" in chart and 'fill="#0b3c4d"' in chart
    # the briefing as `safeguard stats briefing` writes it
    assert "Over 3,600 child abuse image crimes recorded by police in Devon and Cornwall" in r.text
    assert "931 of those crimes were recorded in 2020/21." in r.text
    assert "<h4>Caveats</h4>" in r.text and "<h4>Sources</h4>" in r.text
    assert "safeguard stats briefing --geography &#39;Devon and Cornwall&#39;" in r.text
    # a name as people write it finds the same force
    again = site.login("mo").get("/ui/stats", params={"area": "Devon & Cornwall Police"})
    assert again.status_code == 200 and table(again.text) == rows


def test_a_force_only_the_home_office_table_covers(home_office: Site) -> None:
    c = home_office.login("alice")
    r = c.get("/ui/stats", params={"area": "force:cleveland"})
    assert r.status_code == 200
    expected = summary(home_office, "--geography", "Cleveland")
    assert expected["source"] == "home-office" and expected["offence"] == "86"
    assert "Home Office police recorded crime" in r.text and "a proxy" in r.text
    years = [row[:2] for row in table(r.text) if not row[0].startswith("Total")]
    assert years == [[y["period"], f"{y['value']:,}"] for y in expected["series"]]
    assert "obscene publications offences (Home Office code 86, a proxy)" in r.text
    # choosing the source and measure for a force the NSPCC figures also cover
    r = c.get(
        "/ui/stats",
        params={"area": "force:devon-and-cornwall", "source": "home-office", "offence": "86"},
    )
    assert r.status_code == 200
    assert '<option value="home-office" selected>' in r.text
    assert '<option value="86" selected>' in r.text
    want = summary(
        home_office, "--geography", "Devon and Cornwall", "--source", "home-office",
        "--offence", "86", "--from", "2017/18", "--to", "2017/18",
    )  # fmt: skip
    assert table(r.text)[0][:2] == ["2017/18", f"{want['series'][0]['value']:,}"]


def test_an_unknown_area_is_a_clear_400_page(site: Site) -> None:
    c = site.login("aud")
    cases = [
        ({"area": "Atlantis"}, "unknown area &#39;Atlantis&#39;"),
        ({"area": "Devon and Cornwal"}, "did you mean &#39;Devon and Cornwall&#39;?"),
        ({"area": "West Midlands"}, "ambiguous"),
        ({"area": "force:dorset", "offence": "91/1"}, "unknown offence measure &#39;91/1&#39;"),
        ({"area": "force:dorset", "source": "tabloid"}, "unknown source &#39;tabloid&#39;"),
    ]
    for params, message in cases:
        r = c.get("/ui/stats", params=params)
        assert r.status_code == 400, (params, r.status_code)
        assert message in r.text, (params, r.text)
        assert "Traceback" not in r.text and 'aria-label="Main"' in r.text


def test_an_area_without_figures_says_how_to_load_them(site: Site) -> None:
    r = site.login("aud").get("/ui/stats", params={"area": "Action Fraud"})
    assert r.status_code == 200
    assert 'id="no-figures"' in r.text and "No figures for Action Fraud" in r.text
    assert "safeguard stats import" in r.text


def test_statistics_need_a_login(site: Site) -> None:
    r = site.client().get("/ui/stats")
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
