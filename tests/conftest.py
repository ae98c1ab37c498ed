"""Shared fixtures: the benign stand-in images, and a fresh store on every backend.

Every test that takes `db_url` (directly or through `sg` / `cli`) runs twice: on SQLite and
on PostgreSQL at 127.0.0.1:5432 (user postgres, database test; override with
SAFEGUARD_TEST_POSTGRES_URL). Each PostgreSQL test gets its own schema, dropped afterwards.
When PostgreSQL is unreachable the PostgreSQL runs fail if CI is set and skip otherwise.
SAFEGUARD_TEST_BACKENDS=sqlite limits a local run to one backend.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from safeguard import Safeguard
from safeguard.config import Settings

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    """The project's shared data sets (never copied into the repository): SAFEGUARD_SHARED_DIR,
    else `../shared` beside this checkout, else beside the local repository this checkout was
    cloned from (a fresh CI clone in a temporary folder)."""
    if env := os.environ.get("SAFEGUARD_SHARED_DIR"):
        return Path(env)
    beside = REPO.parent / "shared"
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    if origin and Path(origin).is_dir() and (Path(origin).resolve().parent / "shared").is_dir():
        return Path(origin).resolve().parent / "shared"
    return beside


SHARED = _shared_dir()
COCO = SHARED / "datasets" / "images" / "coco"
PDQ_REFERENCE = SHARED / "datasets" / "pdq-reference"
POSTGRES_URL = os.environ.get(
    "SAFEGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [
    b.strip() for b in os.environ.get("SAFEGUARD_TEST_BACKENDS", "sqlite,postgresql").split(",")
]


def coco_images(split: str) -> list[Path]:
    found = sorted((COCO / split).glob("*.jpg"))
    assert found, f"benign test images missing under {COCO / split}"
    return found


@pytest.fixture(scope="session")
def train_images() -> list[Path]:
    return coco_images("train2017")


@pytest.fixture(scope="session")
def val_images() -> list[Path]:
    return coco_images("val2017")


_postgres_ok: bool | None = None


def _postgres_available() -> bool:
    global _postgres_ok
    if _postgres_ok is None:
        try:
            engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            _postgres_ok = True
        except Exception:
            _postgres_ok = False
    return _postgres_ok


@contextlib.contextmanager
def temporary_database(backend: str, directory: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file in `directory`, or its own PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'safeguard.db'}"
        return
    if not _postgres_available():
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}"
        if os.environ.get("CI"):
            pytest.fail(message + " (required when CI is set)")
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with temporary_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def sg(db_url: str, home: Path) -> Iterator[Safeguard]:
    settings = Settings.from_env().with_(home=home, database_url=db_url, actor="test", workers=2)
    engine = Safeguard.open(settings)
    yield engine
    engine.close()


class Cli:
    """Runs `safeguard ...` in-process through Typer's test runner, against one store."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: object, input: str | None = None):  # type: ignore[no-untyped-def]
        from safeguard.cli.app import app
        from safeguard.cli.context import state

        state.settings = None
        return self.runner.invoke(app, [str(a) for a in args], env=self.env, input=input)

    def json(self, *args: object) -> object:
        import json

        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def lines(self, *args: object) -> list[dict]:  # type: ignore[type-arg]
        import json

        result = self(*args)
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def cli(db_url: str, home: Path) -> Cli:
    return Cli(
        {
            "SAFEGUARD_HOME": str(home),
            "SAFEGUARD_DATABASE_URL": db_url,
            "SAFEGUARD_ACTOR": "test",
            "SAFEGUARD_WORKERS": "2",
        }
    )


def safeguard_exe() -> str:
    return str(Path(sys.executable).with_name("safeguard"))


def run_safeguard(
    args: list[str], env: dict[str, str], prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `safeguard` entry point as a real process (stdin closed)."""
    return subprocess.run(
        [*(prefix or []), safeguard_exe(), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
