"""Fixtures for the pathways tests: a CLI runner that needs no database, small populations."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeguard.pathways.simulate import Population, SimParams, simulate
from tests.conftest import Cli

#: seeds used only by these tests (never for training, calibration or the documented evaluation)
TEST_SEED = 4242
SMALL = 0.2


@pytest.fixture
def cli(home: Path) -> Cli:
    """`safeguard ...` in-process; pathways reads files and needs no store."""
    return Cli({"SAFEGUARD_HOME": str(home), "SAFEGUARD_ACTOR": "test"})


@pytest.fixture(scope="session")
def small_pop() -> Population:
    return simulate(SimParams(seed=TEST_SEED, scale=SMALL))


@pytest.fixture(scope="session")
def small_files(small_pop: Population, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from safeguard.pathways.io import write_table

    d = tmp_path_factory.mktemp("pop")
    write_table(small_pop.accounts, d / "accounts.csv")
    write_table(small_pop.events, d / "events.csv")
    write_table(small_pop.truth, d / "truth.csv")
    return d
