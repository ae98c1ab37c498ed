"""Fixtures of the evidence tests: a key file, a CLI that uses it, a case to preserve into
(a real row in the store) and benign media (generated photos)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safeguard.evidence import new_key_line
from safeguard.samples import write_scenes
from safeguard.store import Database
from tests.conftest import Cli
from tests.evidence.helpers import open_case


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    f = tmp_path / "evidence-keys.txt"
    f.write_text(new_key_line() + "\n")
    f.chmod(0o600)
    return f


@pytest.fixture
def ecli(cli: Cli, key_file: Path) -> Cli:
    """`safeguard` with the key file configured (and no single key from outside)."""
    cli.env.update({"SAFEGUARD_EVIDENCE_KEY_FILE": str(key_file), "SAFEGUARD_EVIDENCE_KEY": ""})
    return cli


@pytest.fixture
def store_db(db_url: str) -> Iterator[Database]:
    db = Database.open(db_url)
    yield db
    db.close()


@pytest.fixture
def case_id(store_db: Database) -> int:
    return open_case(store_db)


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Benign generated photos standing in for media."""
    return write_scenes(tmp_path_factory.mktemp("media"), 3, first_seed=4242)
