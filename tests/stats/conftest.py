"""Fixtures for the statistics tests: stores shared by a module, on every backend.

Building a store (migrations, the built-in published figures, the 23,000-row Home Office table)
takes a second or two; tests that only read share one store per module and backend. Tests that
import files get a fresh store each (the `cli` fixture of tests/conftest.py).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, DATA, SHARED, Cli, temporary_database

CRIME = DATA / "crime-stats"
PRC_CSV = CRIME / "prc-pfa-mar2013-onwards-tables201718.csv"
PRESS_CSV = CRIME / "nspcc_press_figures.csv"
PLATFORM_CSV = CRIME / "nspcc_platform_figures.csv"
FORCES_CSV = CRIME / "police_forces_uk.csv"
SEEDS = SHARED / "seeds"


@pytest.fixture(scope="module", params=BACKENDS)
def module_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database URL for one test module on one backend."""
    with temporary_database(request.param, tmp_path_factory.mktemp("stats")) as url:
        yield url


def make_cli(url: str, home: Path) -> Cli:
    home.mkdir(parents=True, exist_ok=True)
    return Cli(
        {
            "SAFEGUARD_HOME": str(home),
            "SAFEGUARD_DATABASE_URL": url,
            "SAFEGUARD_ACTOR": "test",
        }
    )


@pytest.fixture(scope="module")
def figures_cli(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A store holding only the published figures shipped with safeguard."""
    return make_cli(module_db, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def prc_cli(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, float]:
    """A store with the Home Office 2017/18 table imported; also the import's wall time."""
    cli = make_cli(module_db, tmp_path_factory.mktemp("home"))
    cli("stats", "list")  # migrations and built-in figures first: not part of the import
    started = time.perf_counter()
    result = cli("stats", "import", PRC_CSV)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    return cli, elapsed


def press_rows() -> list[dict[str, str]]:
    with open(PRESS_CSV, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def press_value(
    geography: str,
    period: str,
    measure: str = "offences",
    release: str | None = None,
    kind: str | None = None,
) -> float:
    """One figure as transcribed in the shared press figures file (the expected value)."""
    found = [
        r
        for r in press_rows()
        if r["geography"] == geography
        and r["financial_year"] == period
        and r["measure"] == measure
        and (release is None or r["release"] == release)
        and (kind is None or r["geography_type"] == kind)
    ]
    assert len(found) == 1, (geography, period, measure, found)
    return float(found[0]["value"])
