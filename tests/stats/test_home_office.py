"""The Home Office 2017/18 police force area table: code-86 totals per force and for England
and Wales, checked against the raw rows summed here with the csv module."""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from tests.conftest import Cli
from tests.stats.conftest import FORCES_CSV, PRC_CSV


def raw_code86() -> dict[str, int]:
    """Force name -> code 86 offences in 2017/18, straight from the raw table."""
    totals: dict[str, int] = defaultdict(int)
    with open(PRC_CSV, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            assert row["Financial Year"].strip() == "2017/18"
            if row["Offence Code"].strip() == "86":
                totals[row["Force Name"].strip()] += int(row["Number of Offences"])
    return dict(totals)


def england_and_wales_forces() -> list[str]:
    with open(FORCES_CSV, encoding="utf-8", newline="") as fh:
        return [
            r["force_prc_name"] for r in csv.DictReader(fh) if r["nation"] in ("England", "Wales")
        ]


@pytest.mark.parametrize(
    "force",
    [
        "Devon and Cornwall",
        "Dorset",
        "Metropolitan Police",
        "North Yorkshire",
        "London, City of",
        "Dyfed-Powys",
        "West Midlands Police",
    ],
)
def test_code_86_total_per_force(prc_cli: tuple[Cli, float], force: str) -> None:
    cli, _ = prc_cli
    raw = raw_code86()
    data = cli.json(
        "stats",
        "summary",
        "--geography",
        force,
        "--from",
        "2017/18",
        "--to",
        "2017/18",
        "--source",
        "home-office",
    )
    name = data["geography"]  # type: ignore[index]
    assert data["source"] == "home-office" and data["offence"] == "86"  # type: ignore[index]
    assert data["total"] == raw[name]  # type: ignore[index]
    assert data["from"] == {"period": "2017/18", "value": raw[name]}  # type: ignore[index]
    assert data["series"][0]["basis"] == "sum of 4 quarters"  # type: ignore[index]


def test_code_86_total_for_england_and_wales(prc_cli: tuple[Cli, float]) -> None:
    cli, _ = prc_cli
    raw = raw_code86()
    forces = england_and_wales_forces()
    assert len(forces) == 43
    data = cli.json(
        "stats",
        "summary",
        "--geography",
        "England and Wales",
        "--from",
        "2017/18",
        "--to",
        "2017/18",
        "--source",
        "home-office",
    )
    assert data["total"] == sum(raw[f] for f in forces)  # type: ignore[index]
    assert data["series"][0]["coverage"] == {"forces": 43, "reported": 43, "missing": []}  # type: ignore[index]
    # British Transport Police is in the table but in no area
    assert raw["British Transport Police"] > 0


def test_every_force_through_coverage(prc_cli: tuple[Cli, float]) -> None:
    cli, _ = prc_cli
    raw = raw_code86()
    data = cli.json(
        "stats",
        "coverage",
        "--geography",
        "England and Wales",
        "--period",
        "2017/18",
        "--source",
        "home-office",
    )
    got = {f["force"]: f["value"] for f in data["by_force"]}  # type: ignore[index]
    assert got == {f: raw[f] for f in england_and_wales_forces()}
    assert data["complete"] is True  # type: ignore[index]


def test_regions_and_nations_add_up(prc_cli: tuple[Cli, float]) -> None:
    cli, _ = prc_cli
    raw = raw_code86()
    with open(FORCES_CSV, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for area, members in (
        ("South West", [r["force_prc_name"] for r in rows if r["ons_region"] == "South West"]),
        ("Wales", [r["force_prc_name"] for r in rows if r["nation"] == "Wales"]),
    ):
        data = cli.json(
            "stats",
            "summary",
            "-g",
            area,
            "--from",
            "2017/18",
            "--to",
            "2017/18",
            "--source",
            "home-office",
        )
        assert data["total"] == sum(raw[f] for f in members)  # type: ignore[index]


def test_nspcc_and_home_office_are_never_mixed(prc_cli: tuple[Cli, float]) -> None:
    cli, _ = prc_cli
    # Devon and Cornwall has NSPCC figures for five years and a Home Office figure for one
    data = cli.json(
        "stats", "summary", "-g", "Devon and Cornwall", "--from", "2016/17", "--to", "2020/21"
    )
    assert data["source"] == "nspcc"  # type: ignore[index]
    assert data["series"][1]["value"] == 829  # type: ignore[index]  (the article's 2017/18)
    others = {o["source"]: o for o in data["other_sources"]}  # type: ignore[index]
    assert others["home-office"]["offence"] == "86"
    ho = cli.json(
        "stats",
        "summary",
        "-g",
        "Devon and Cornwall",
        "--from",
        "2016/17",
        "--to",
        "2020/21",
        "--source",
        "home-office",
    )
    assert ho["missing_periods"] == ["2016/17", "2018/19", "2019/20", "2020/21"]  # type: ignore[index]
    assert ho["total"] is None  # type: ignore[index]
    assert any("proxy" in c for c in ho["caveats"])  # type: ignore[index]


def test_import_report_and_speed(prc_cli: tuple[Cli, float]) -> None:
    cli, elapsed = prc_cli
    with open(PRC_CSV, encoding="utf-8", newline="") as fh:
        raw_rows = sum(1 for _ in csv.DictReader(fh))
    imports = cli.json("stats", "list")
    prc = [i for i in imports if i["format"] == "prc"]  # type: ignore[union-attr, index]
    assert len(prc) == 1 and prc[0]["rows"] == raw_rows
    assert prc[0]["sources"] == ["home-office"]
    assert elapsed < 5.0, f"import took {elapsed:.2f} s"


def test_importing_the_same_table_again_is_refused(prc_cli: tuple[Cli, float]) -> None:
    cli, _ = prc_cli
    result = cli("stats", "import", PRC_CSV)
    assert result.exit_code == 2
    assert PRC_CSV.name in result.stderr and "already imported" in result.stderr
    assert "Traceback" not in result.output


def test_devon_and_cornwall_briefing_with_home_office_comparison(
    prc_cli: tuple[Cli, float], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    cli, _ = prc_cli
    raw = raw_code86()
    result = cli("stats", "briefing", "--geography", "Devon and Cornwall", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    md = (tmp_path / "briefing.md").read_text(encoding="utf-8")
    assert f"give {raw['Devon and Cornwall']:,} in 2017/18" in md
    assert "code 86" in md
