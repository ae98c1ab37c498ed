"""Importing FOI returns (CSV, XLSX), Home Office tables as ODS, and published figures; and
refusing bad input with the file, row and problem named, leaving nothing half imported.

The small files here are written by the tests (ODS with odfpy, XLSX with openpyxl); every
expected figure is computed from the rows the test itself wrote.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import CoveredTableCell, Table, TableCell, TableRow
from odf.text import P

from tests.conftest import Cli, run_safeguard
from tests.stats.conftest import PRESS_CSV

PRC_HEADER = [
    "Financial Year",
    "Financial Quarter",
    "Force Name",
    "Offence Description",
    "Offence Group",
    "Offence Subgroup",
    "Offence Code",
    "Number of Offences",
]


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_ods(path: Path, sheets: dict[str, list[list[object]]], merge_first_row: int = 0) -> Path:
    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for i, row in enumerate(rows):
            tr = TableRow()
            if i == 0 and merge_first_row:
                cell = TableCell(valuetype="string", numbercolumnsspanned=merge_first_row)
                cell.addElement(P(text=str(row[0])))
                tr.addElement(cell)
                for _ in range(merge_first_row - 1):
                    tr.addElement(CoveredTableCell())
            else:
                for v in row:
                    if isinstance(v, int):
                        cell = TableCell(valuetype="float", value=v)
                    else:
                        cell = TableCell(valuetype="string")
                    cell.addElement(P(text=str(v)))
                    tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def imported_files(cli: Cli) -> list[str]:
    return [i["file"] for i in cli.json("stats", "list") if not i["builtin"]]  # type: ignore[union-attr, index]


def summary(cli: Cli, *args: str) -> dict:  # type: ignore[type-arg]
    data = cli.json("stats", "summary", *args)
    assert isinstance(data, dict)
    return data


# -- ODS: the published Home Office workbook form -------------------------------------------------

# (force, code, quarterly values) for two financial years
ODS_2016 = [("Devon and Cornwall", "86", [100, 110, 120, 130]), ("Dorset", "86", [40, 41, 42, 43])]
ODS_2017 = [("Devon & Cornwall", "86", [200, 210, 220, 230]), ("Dorset", "86", [50, 51, 52, 53])]


def prc_ods(path: Path) -> Path:
    s2016: list[list[object]] = [PRC_HEADER]
    for force, code, values in ODS_2016:
        for q, v in enumerate(values, start=1):
            s2016.append(
                ["2016/17", q, force, "Obscene publications etc", "Other", "Other", code, v]
            )
        s2016.append(["2016/17", 1, force, "Burglary", "Theft", "Burglary", "28E", 7])
    # a later vintage: other column names, padding, an extra column, no year column
    s2017: list[list[object]] = [
        [
            "financial_quarter",
            " FORCE_NAME ",
            "offence code",
            "offence_description",
            "number of offences",
            "Notes",
        ]
    ]
    for force, code, values in ODS_2017:
        for q, v in enumerate(values, start=1):
            s2017.append(
                [f" {q} ", f" {force} ", f" {code} ", "Obscene publications etc", f" {v} ", "r"]
            )
    notes = [["Police recorded crime open data"], ["Figures are for police force areas."]]
    return write_ods(path, {"Notes": notes, "2016-17": s2016, "2017_18": s2017})


def test_ods_one_sheet_per_financial_year(cli: Cli, tmp_path: Path) -> None:
    path = prc_ods(tmp_path / "prc-pfa.ods")
    result = cli("stats", "import", path, "--json")
    assert result.exit_code == 0, result.output
    for year, rows in (("2016/17", ODS_2016), ("2017/18", ODS_2017)):
        for force, _code, values in rows:
            data = summary(
                cli, "-g", force, "--from", year, "--to", year, "--source", "home-office"
            )
            assert data["total"] == sum(values), (force, year)
    both = summary(
        cli, "-g", "Dorset", "--from", "2016/17", "--to", "2017/18", "--source", "home-office"
    )
    assert both["total"] == sum(ODS_2016[1][2]) + sum(ODS_2017[1][2])


def test_ods_merged_header_is_refused(cli: Cli, tmp_path: Path) -> None:
    rows: list[list[object]] = [["Police recorded crime, 2016/17"], PRC_HEADER]
    rows.append(["2016/17", 1, "Dorset", "Obscene publications etc", "O", "O", "86", 3])
    path = write_ods(tmp_path / "merged.ods", {"2016-17": rows}, merge_first_row=8)
    result = cli("stats", "import", path)
    assert result.exit_code == 2
    assert (
        "merged.ods" in result.stderr
        and "row 1" in result.stderr
        and "merged header" in result.stderr
    )
    assert imported_files(cli) == []


def test_ods_year_that_disagrees_with_its_sheet(cli: Cli, tmp_path: Path) -> None:
    rows: list[list[object]] = [PRC_HEADER]
    rows.append(["2016/17", 1, "Dorset", "Obscene publications etc", "O", "O", "86", 3])
    rows.append(["2015/16", 2, "Dorset", "Obscene publications etc", "O", "O", "86", 3])
    path = write_ods(tmp_path / "mixed.ods", {"2016-17": rows})
    result = cli("stats", "import", path)
    assert result.exit_code == 2
    assert "mixed.ods sheet '2016-17' row 3" in result.stderr and "2015/16" in result.stderr


# -- FOI returns --------------------------------------------------------------------------------

FOI_ROWS: list[list[object]] = [
    ["Police Force", "Financial Year", "Offence code", "Platform", "Number of offences"],
    ["Devon & Cornwall", "2021/22", "86/2", "", 300],
    ["Devon & Cornwall", "2021/22", "86/10", "", 150],
    ["Devon & Cornwall", "2021/22", "86/15", "", 5],
    ["Dorset Police", "2021-22", "", "", 240],
    ["Devon and Cornwall Police", "FY21/22", "", "Snapchat", 60],
    ["Devon & Cornwall", "2021/22", "", "Instagram", 20],
    ["Devon & Cornwall", "2021/22", "", "WhatsApp", 10],
    ["Devon & Cornwall", "2021/22", "", "facebook", 10],
    ["Devon & Cornwall", "2021/22", "", "Not identified", 355],
]


def test_foi_csv_with_breakdown_and_platforms(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "foi-2022.csv", FOI_ROWS)
    result = cli("stats", "import", path, "--json")
    assert result.exit_code == 0, result.output
    data = summary(cli, "-g", "Devon and Cornwall", "--from", "2021/22", "--to", "2021/22")
    # no total row: the total is the sum of the offence breakdown
    assert data["total"] == 300 + 150 + 5
    assert summary(cli, "-g", "Dorset", "--from", "2021/22", "--to", "2021/22")["total"] == 240
    # the published series for earlier years continues into the return's year
    five = summary(cli, "-g", "Devon and Cornwall", "--from", "2017/18", "--to", "2021/22")
    assert five["from"] == {"period": "2017/18", "value": 829}
    assert five["to"] == {"period": "2021/22", "value": 455}
    plats = cli.json(
        "stats", "platforms", "-g", "Devon and Cornwall", "--from", "2021/22", "--to", "2021/22"
    )
    rows = {r["platform"]: r for r in plats["platforms"]}  # type: ignore[index]
    identified = 60 + 20 + 10 + 10
    assert rows["Snapchat"]["share_pct"] == round(60 / identified * 100, 1)
    assert rows["Meta"]["count"] == 20 + 10 + 10
    assert rows["Meta"]["share_pct"] == round(40 / identified * 100, 1)
    assert rows["not identified"]["share_pct"] is None


def test_foi_xlsx_calendar_years_kept_apart(cli: Cli, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Force", "Calendar year", "Offences"])
    ws.append(["Kent", 2019, 1000])
    ws.append(["Kent", "2020", "1,100"])
    path = tmp_path / "kent.xlsx"
    wb.save(path)
    result = cli("stats", "import", path)
    assert result.exit_code == 0, result.output
    cal = summary(cli, "-g", "Kent", "--from", "2019", "--to", "2020")
    assert cal["total"] == 2100 and cal["year_kind"] == "calendar year"
    fin = summary(cli, "-g", "Kent", "--from", "2017/18", "--to", "2022/23")
    assert fin["missing_periods"] == ["2018/19", "2019/20", "2020/21"]


# -- bad input: file, row, problem; nothing imported ----------------------------------------------

BAD = [
    (
        "unknown-force.csv",
        ["Devon and Cornwal", "2020/21", 5],
        "row 3",
        "did you mean 'Devon and Cornwall'",
    ),
    ("negative.csv", ["Dorset", "2020/21", -5], "row 3", "negative count"),
    ("not-a-number.csv", ["Dorset", "2020/21", "<5"], "row 3", "is not a number"),
    ("bad-period.csv", ["Dorset", "Q3 2016", 5], "row 3", "unknown period format 'Q3 2016'"),
    ("not-consecutive.csv", ["Dorset", "2016/18", 5], "row 3", "not a financial year"),
    (
        "duplicate.csv",
        ["Gwent", "2020/21", 7],
        "row 3",
        "duplicate return: Gwent 2020/21 is also on row 2",
    ),
]


@pytest.mark.parametrize(("name", "row", "where", "problem"), BAD)
def test_bad_foi_rows(
    cli: Cli, tmp_path: Path, name: str, row: list[object], where: str, problem: str
) -> None:
    path = write_csv(tmp_path / name, [["force", "period", "count"], ["Gwent", "2020/21", 7], row])
    result = cli("stats", "import", path)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {name} {where}: "), result.stderr
    assert problem in result.stderr
    assert "nothing was imported" in result.stderr
    assert "Traceback" not in result.output
    assert imported_files(cli) == []


def test_overlapping_returns_across_imports(cli: Cli, tmp_path: Path) -> None:
    first = write_csv(
        tmp_path / "first.csv", [["force", "period", "count"], ["Gwent", "2020/21", 7]]
    )
    second = write_csv(
        tmp_path / "second.csv",
        [
            ["force", "period", "count"],
            ["Dyfed-Powys", "2020/21", 3],
            ["Gwent Police", "2020-21", 8],
        ],
    )
    assert cli("stats", "import", first).exit_code == 0
    result = cli("stats", "import", second)
    assert result.exit_code == 2
    assert "second.csv row 3" in result.stderr and "first.csv row 2" in result.stderr
    assert imported_files(cli) == ["first.csv"]
    # --replace lets the newer return win
    assert cli("stats", "import", second, "--replace").exit_code == 0
    data = summary(cli, "-g", "Gwent", "--from", "2020/21", "--to", "2020/21")
    assert data["total"] == 8


def test_one_bad_file_means_no_file_is_imported(cli: Cli, tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", [["force", "period", "count"], ["Gwent", "2020/21", 7]])
    bad = write_csv(
        tmp_path / "bad.csv", [["force", "period", "count"], ["Atlantis", "2020/21", 7]]
    )
    result = cli("stats", "import", good, bad)
    assert result.exit_code == 2
    assert "bad.csv row 2" in result.stderr and "unknown police force 'Atlantis'" in result.stderr
    assert imported_files(cli) == []


def test_merged_header_in_a_spreadsheet(cli: Cli, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Child abuse image offences", None, None])
    ws.merge_cells("A1:C1")
    ws.append(["force", "period", "count"])
    ws.append(["Gwent", "2020/21", 7])
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    result = cli("stats", "import", path)
    assert result.exit_code == 2
    assert "merged.xlsx sheet 'Sheet' row 1: merged header cells (A1:C1)" in result.stderr
    assert imported_files(cli) == []


def test_bad_published_figure(cli: Cli, tmp_path: Path) -> None:
    with open(PRESS_CSV, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, first = rows[0], list(rows[1])
    first[header.index("value_qualifier")] = "roughly-ish"
    path = write_csv(tmp_path / "figures.csv", [header, first])
    result = cli("stats", "import", path)
    assert result.exit_code == 2
    assert "figures.csv row 2: unknown qualifier 'roughly-ish'" in result.stderr


def test_the_shipped_figures_file_imports_as_already_loaded(cli: Cli) -> None:
    result = cli("stats", "import", PRESS_CSV, "--format", "figures", "--json")
    assert result.exit_code == 0, result.output
    assert "already loaded" in result.stdout
    assert imported_files(cli) == []


def test_real_process_prints_one_line(db_url: str, home: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["force", "period", "count"], ["Gwent", "sometime", 7]])
    proc = run_safeguard(
        ["stats", "import", str(path)],
        {"SAFEGUARD_HOME": str(home), "SAFEGUARD_DATABASE_URL": db_url},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: r.csv row 2: unknown period format 'sometime' (use a financial year such as "
        "2016/17 (also 2016-17, 2016/2017, FY16/17) or a calendar year such as 2017) "
        "(nothing was imported)"
    ]
