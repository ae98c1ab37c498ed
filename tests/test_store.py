"""Schema migrations and database settings, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from safeguard import ConfigError
from safeguard.store import SCHEMA_REVISION, Database, normalize_url
from safeguard.store.database import MIGRATIONS_DIR

TABLES = {"alembic_version", "banks", "bank_content", "content_signals", "change_log"}


def _config(conn) -> Config:  # type: ignore[no-untyped-def]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def test_schema_revision_constant_is_the_alembic_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_REVISION


def test_migrations_create_downgrade_and_upgrade(db_url: str) -> None:
    db = Database.open(db_url)
    assert db.revision() == SCHEMA_REVISION
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    with db.engine.begin() as conn:
        command.downgrade(_config(conn), "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.migrate()
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    db.close()


def test_database_url_errors_are_clear() -> None:
    with pytest.raises(ConfigError, match="not a valid database URL"):
        Database.open("::nonsense::")
    with pytest.raises(ConfigError, match="cannot connect"):
        Database.open("postgresql://postgres@127.0.0.1:1/none")
    assert normalize_url("postgres://u@h/db").startswith("postgresql+psycopg://")
