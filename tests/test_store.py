"""Schema migrations and database settings, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from safeguard import ConfigError
from safeguard.banks import BankService
from safeguard.store import SCHEMA_REVISION, Database, normalize_url
from safeguard.store.database import MIGRATIONS_DIR, WAL_BACKSTOP_PAGES, _file_lock
from tests.conftest import eventually, read_without_log, temporary_database

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


def test_upgrading_keeps_every_bank_and_its_content(db_url: str) -> None:
    """An older store upgraded in place keeps its data: on SQLite, the migrations that
    rebuild `banks` must not cascade-delete its content (checked from revision 0003)."""
    db = Database.open(db_url, migrate=False)
    with db.engine.begin() as conn:
        command.upgrade(_config(conn), "0003")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "insert into banks (id, name, description, pdq_threshold, negative, enabled,"
                " match_ratio, created_at, created_by, updated_at) values"
                " (1, 'old', '', 20, false, true, 1.0, '2026-01-01', 'x', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "insert into bank_content (id, bank_id, dedupe_key, source, note, tags,"
                " added_at, added_by) values (7, 1, 'k', 's', '', '[]', '2026-01-01', 'x')"
            )
        )
        conn.execute(
            text(
                "insert into content_signals (content_id, bank_id, signal_type, signal_value)"
                f" values (7, 1, 'pdq', '{'0' * 64}')"
            )
        )
    db.migrate()
    assert db.revision() == SCHEMA_REVISION
    with db.engine.connect() as conn:
        assert conn.execute(text("select count(*) from bank_content")).scalar() == 1
        assert conn.execute(text("select count(*) from content_signals")).scalar() == 1
        assert conn.execute(text("select local_features from banks")).scalar()
    # the bank's own PDQ threshold became its entry in the thresholds of 0006
    banks = BankService(db, "test")
    assert banks.get("old").thresholds["pdq"] == 20
    # from 0016 on, an id deleted is not handed out again (SQLite's AUTOINCREMENT)
    newest = banks.add("old", {"pdq": "f" * 64}).content_id
    banks.remove_content("old", newest)
    assert banks.add("old", {"pdq": "e" * 64}).content_id > newest
    db.close()


def test_bank_and_content_ids_are_never_used_twice(db_url: str) -> None:
    """Deleting the newest bank or content item and adding another gives a new id, so a
    case item, a match record or a feed that named the old one never names the new one."""
    db = Database.open(db_url)
    banks = BankService(db, "test")
    banks.create("a")
    banks.add("a", {"pdq": "0" * 64})
    newest = banks.add("a", {"pdq": "f" * 64}).content_id
    banks.remove_content("a", newest)
    assert banks.add("a", {"pdq": "e" * 64}).content_id > newest
    gone = banks.create("b").id
    banks.delete("b")
    assert banks.create("c").id > gone
    db.close()


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


def test_the_migrated_schema_is_the_one_the_models_describe(db_url: str) -> None:
    """Every table, column, index and unique constraint of the models is what the migrations
    create (nothing missing, nothing extra), so the ORM and the database never disagree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import safeguard.store.migrations  # noqa: F401
    from safeguard.store.models import Base

    for module in (
        "audit",
        "event",
        "evidence",
        "exchange",
        "outbox",
        "referral",
        "review",
        "rules",
        "stats",
        "web",
    ):
        __import__(f"safeguard.store.{module}_tables")
    db = Database.open(db_url)
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata
        )
    db.close()
    # server defaults and nullability are the migrations' business; tables, columns and
    # indexes must agree
    kinds = {
        "add_table",
        "remove_table",
        "add_column",
        "remove_column",
        "add_index",
        "remove_index",
    }
    problems = [d for d in diff if isinstance(d, tuple) and d[0] in kinds]
    assert problems == []


def test_sqlite_writers_queue_on_a_file_lock_that_never_waits_past_its_limit(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "sg.db-writers")
    held = _file_lock(path, 1.0)
    assert held is not None
    started = time.monotonic()
    assert _file_lock(path, 0.2) is None  # still held: the writer gave up after its wait
    assert 0.2 <= time.monotonic() - started < 2
    # a waiting writer is woken as soon as the one before it lets go
    threading.Timer(0.1, os.close, [held]).start()
    started = time.monotonic()
    again = _file_lock(path, 5.0)
    assert again is not None and time.monotonic() - started < 1
    os.close(again)
    # the writer that gave up took nothing with it: the lock is free
    free = _file_lock(path, 0.1)
    assert free is not None
    os.close(free)


def test_a_file_lock_held_for_long_delays_no_other_databases_writers(tmp_path: Path) -> None:
    stuck = _file_lock(str(tmp_path / "a.db-writers"), 1.0)  # held by "another process"
    assert stuck is not None
    assert _file_lock(str(tmp_path / "a.db-writers"), 0.1) is None  # its waiter still waits
    other = str(tmp_path / "b.db-writers")
    held = _file_lock(other, 1.0)
    assert held is not None
    threading.Timer(0.1, os.close, [held]).start()
    started = time.monotonic()
    got = _file_lock(other, 5.0)  # waited for on its own file's waiter
    assert got is not None and time.monotonic() - started < 1
    os.close(got)
    os.close(stuck)


def test_writers_of_two_processes_take_turns_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sg.db'}"
    db = Database.open(url)
    script = (
        "import sys; from sqlalchemy import text; from safeguard.store import Database\n"
        "db = Database.open(sys.argv[1])\n"
        "for n in range(200):\n"
        "    with db.write_transaction() as s:\n"
        "        s.execute(text('insert into turns values (:n)'), {'n': n})\n"
    )
    with db.write_transaction() as s:
        s.execute(text("create table turns (n integer)"))
    writers = [subprocess.Popen([sys.executable, "-c", script, url]) for _ in range(2)]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    with db.transaction() as s:
        assert s.scalar(text("select count(*) from turns")) == 400
    db.close()


def test_sqlite_checkpoints_run_on_a_thread_of_their_own(tmp_path: Path) -> None:
    """With background checkpoints, committed writes reach the database file from the
    checkpoint thread, well short of SQLite's 1,000 log pages (past which the writer itself
    would copy them), and the writers' own checkpoints wait for the backstop."""
    path = tmp_path / "sg.db"
    db = Database.open(f"sqlite:///{path}")
    assert db.checkpoint_in_background(every=0.05)
    assert not db.checkpoint_in_background()  # once per store
    with db.write_connection() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_BACKSTOP_PAGES
        conn.exec_driver_sql("create table kept (n integer)")
        conn.exec_driver_sql("insert into kept values (1), (2), (3)")
    assert eventually(lambda: read_without_log(path, "select count(*) from kept") == 3)
    db.close()
    assert not [t for t in threading.enumerate() if t.name == "sqlite-checkpoints"]


def test_background_checkpoints_are_for_sqlite_files_only(tmp_path: Path) -> None:
    memory = Database.open("sqlite://")
    assert not memory.checkpoint_in_background()
    memory.close()
    with temporary_database("postgresql", tmp_path) as url:
        pg = Database.open(url)
        assert not pg.checkpoint_in_background()
        pg.close()
