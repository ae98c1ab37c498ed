"""Connections and transactions: SQLite by default, PostgreSQL in production.

`Database.open(url)` creates the engine, brings the schema up to date with Alembic (on an
empty or older database), and hands out sessions with `db.transaction()`, which commits on
success and rolls back everything on any error. Changes run in `db.write_transaction()`
(or `db.write_connection()`, the same on a Core connection, for the hot writes of driver
statements): on SQLite it holds the write lock from its first statement, on PostgreSQL its
callers lock the rows they change (SELECT ... FOR UPDATE), and a collision with a
concurrent change that still gets through is a `Conflict`, never a database exception.
With `wait=False` a SQLite write that would wait for another writer is refused at once
(`WriteBusy`), for callers that must not block, such as an event loop. A server's SQLite
store copies its write-ahead log into the database on a thread of its own
(`checkpoint_in_background`), never inside a request's commit.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from safeguard.errors import ConfigError, Conflict

#: the newest migration in store/migrations/versions (tests check they agree)
SCHEMA_REVISION = "0018"

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: PostgreSQL errors of concurrent transactions: serialization failure, deadlock, and a
#: foreign key whose row another transaction removed
_CONCURRENCY_SQLSTATES = {"40001", "40P01", "23503"}


def normalize_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` and use the psycopg 3 driver for them."""
    try:
        u = make_url(url)
    except ArgumentError:
        raise ConfigError(f"not a valid database URL: {url!r}") from None
    if u.drivername in ("postgres", "postgresql"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


_log = logging.getLogger("safeguard.store")

#: how often a server copies SQLite's write-ahead log into the database
#: (Database.checkpoint_in_background)
CHECKPOINT_EVERY = 0.25
#: log pages past which a writer checkpoints itself even so (SQLite's default: 1,000)
WAL_BACKSTOP_PAGES = 20_000


class _SqliteWriters:
    """Where the writers of one SQLite file queue: the threads of this process on a lock,
    then the processes (server workers, CLI commands) on an advisory lock on a file beside
    the database. A waiting writer sleeps in the kernel and is woken the moment the one
    before it is done, so the database's write lock is free when it asks and passes on at
    once (polling SQLite's lock, or this one, with naps leaves it idle between writers).
    The wait is bounded like SQLite's own: past it, the writer goes on without the file
    lock and SQLite's lock decides. Re-entrant, like the transactions that take it."""

    def __init__(self, database: str | None) -> None:
        self._lock = threading.RLock()
        self._path = f"{database}-writers" if database and database != ":memory:" else None
        self._depth = 0
        self._held: int | None = None  # the descriptor whose file lock this thread holds

    def acquire(self, *, wait: bool) -> bool:
        """Take this thread's turn (with `wait=False`, only if no writer holds it now:
        False otherwise, holding nothing)."""
        if not self._lock.acquire(blocking=wait):
            return False
        if self._depth == 0 and self._path is not None:
            held = _file_lock(self._path, _SQLITE_WRITE_WAIT if wait else 0.0)
            if held is None and not wait:
                self._lock.release()
                return False
            self._held = held
        self._depth += 1
        return True

    def release(self) -> None:
        try:
            if self._depth == 1 and self._held is not None:
                os.close(self._held)  # closing the descriptor releases its lock
                self._held = None
        finally:
            self._depth -= 1
            self._lock.release()


class _LockRequest:
    """A writer waiting for the writers' file lock on descriptor `fd`."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.got = threading.Event()
        self.decided = threading.Lock()
        self.gave_up = False
        self.failed = False


class _LockWaiter:
    """The thread that waits in the kernel for one file's writers' lock, one request after
    the other (the writers of a process queue on a lock before they ask, so there is seldom
    more than one). One thread per file and process, not one per wait: starting a thread
    cost more than the small write it let through; per file, so a lock held for long
    elsewhere delays no other database's writers. A request whose writer gave up is closed
    as soon as its lock comes, which lets it go at once."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[_LockRequest] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, request: _LockRequest) -> None:
        with self._start:
            if self._thread is None or not self._thread.is_alive():  # first use, or a fork
                self._thread = threading.Thread(
                    target=self._run, name="sqlite-writers-lock", daemon=True
                )
                self._thread.start()
        self._requests.put(request)

    def _run(self) -> None:
        while True:
            r = self._requests.get()
            try:
                fcntl.flock(r.fd, fcntl.LOCK_EX)
            except OSError:
                r.failed = True
            with r.decided:
                if r.gave_up or r.failed:
                    os.close(r.fd)
                if not r.gave_up:
                    r.got.set()


_WAITERS: dict[str, _LockWaiter] = {}
_WAITERS_LOCK = threading.Lock()


def _waiter(path: str) -> _LockWaiter:
    with _WAITERS_LOCK:
        return _WAITERS.setdefault(path, _LockWaiter())


def _file_lock(path: str, wait: float) -> int | None:
    """An open descriptor of `path` holding its exclusive advisory lock (close it to let
    go), waiting up to `wait` seconds (0: not at all); None after that, or when the file
    cannot be opened (a read-only folder)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        if wait <= 0:
            os.close(fd)
            return None
    except OSError:
        os.close(fd)
        return None
    # a blocking wait cannot be cut short, so it runs on the file's waiter thread, which gives
    # the lock up at once if it comes after this writer stopped waiting
    request = _LockRequest(fd)
    _waiter(path).submit(request)
    if request.got.wait(wait):
        return None if request.failed else fd
    with request.decided:
        if request.got.is_set():
            return None if request.failed else fd
        request.gave_up = True
    _log.warning("waited %.0f s for the SQLite writers' lock (%s); going on without it", wait, path)
    return None


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._sqlite = engine.dialect.name == "sqlite"
        self._sqlite_writer = _SqliteWriters(engine.url.database if self._sqlite else None)
        self._checkpoints: _Checkpoints | None = None

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Database:
        url = normalize_url(url)
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            if u.database and u.database != ":memory:":
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        db = cls(engine)
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        except OperationalError as e:
            engine.dispose()
            reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
            raise ConfigError(
                f"cannot connect to database {u.render_as_string()}: {reason}"
            ) from None
        if migrate:
            try:
                db.migrate()
            except SQLAlchemyError as e:
                engine.dispose()
                reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
                raise ConfigError(f"cannot prepare the database schema: {reason}") from None
        return db

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("select version_num from alembic_version")).scalar()

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision (fast no-op when it is current)."""
        if self.revision() == SCHEMA_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = None
        logging.getLogger("alembic").setLevel(logging.WARNING)
        with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # batch migrations rebuild a table and drop the old one; with foreign keys on,
                # SQLite's implicit DELETE on DROP TABLE would cascade to every bank's content.
                # The pragma only takes effect outside a transaction.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise ConfigError("schema migration left rows with broken references")
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                    conn.commit()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed at the end, rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def write_transaction(self, *, wait: bool = True) -> Iterator[Session]:
        """A transaction that changes data: what it reads cannot change before it writes.

        On SQLite it takes the database's write lock at its start (BEGIN IMMEDIATE, waiting
        up to the busy timeout), so writers run one after another and see each other's
        work; on PostgreSQL the caller locks the rows it changes (SELECT ... FOR UPDATE).
        A collision that still reaches the database (a row updated or removed under an
        ORM update, a foreign key whose row just went, a serialization failure or deadlock)
        is raised as `Conflict`, after everything was rolled back. With `wait=False`, on
        SQLite, `WriteBusy` is raised at once, before anything is done, when another writer
        holds the lock (for callers that must not block, such as an event loop)."""
        with self._writing(wait), self._sessions.begin() as session:
            if self._sqlite:
                _begin_immediate(session.connection(), wait)
            yield session

    @contextlib.contextmanager
    def write_connection(self, *, wait: bool = True) -> Iterator[Connection]:
        """As `write_transaction`, on a Core connection instead of an ORM session: for the
        hot writes made of Core and driver statements (store/driver.py), which need none of
        the session's work (its begin, flush and commit cost more than a small write)."""
        with self._writing(wait), self.engine.begin() as conn:
            if self._sqlite:
                _begin_immediate(conn, wait)
            yield conn

    def writers_turn(self) -> contextlib.AbstractContextManager[None]:
        """Hold this store's writers' turn: on SQLite the queue every writer of the file
        joins before it takes the write lock (re-entrant: a write made meanwhile on this
        thread goes straight on); nothing on PostgreSQL. For a thread that writes what
        queued while it waited (act/combine.py)."""
        return self._writing(wait=True)

    @property
    def local_writes(self) -> bool:
        """Whether a write is work in this process (SQLite: a few calls into the library)
        rather than round trips to a server (PostgreSQL)."""
        return self._sqlite

    @contextlib.contextmanager
    def _writing(self, wait: bool) -> Iterator[None]:
        """Around a write transaction: on SQLite, the writers of this process and of the
        others queue (first come, first served) instead of each polling the database's
        lock with SQLite's growing sleeps; a collision becomes `Conflict`."""
        if self._sqlite and not self._sqlite_writer.acquire(wait=wait):
            raise WriteBusy(_BUSY)
        try:
            yield
        except StaleDataError:
            raise Conflict(_CONFLICT) from None
        except DBAPIError as e:
            if not _concurrency_error(e):
                raise
            raise Conflict(_CONFLICT) from None
        finally:
            if self._sqlite:
                self._sqlite_writer.release()

    def session(self) -> Session:
        return self._sessions()

    def checkpoint_in_background(self, every: float = CHECKPOINT_EVERY) -> bool:
        """On a SQLite file: copy the write-ahead log into the database every `every` seconds
        on a thread of this process's own, and no longer in the writer whose commit takes
        the log past SQLite's 1,000 pages (only past `WAL_BACKSTOP_PAGES`, should this
        thread fall behind). SQLite runs that copy, and its two fsyncs, inside the commit
        that crossed the line: in a server, on an event loop or a group commit's thread,
        with the writers' turn still held, so every other writer of the file waited for the
        disk (docs/benchmarks.md, "Checkpoints off the write path"). Passive checkpoints
        never wait for, or hold up, readers and writers. For long-running processes with
        many writes (the server); False where there is nothing to do (PostgreSQL, memory)."""
        path = self.engine.url.database if self._sqlite else None
        if not path or path == ":memory:" or self._checkpoints is not None:
            return False
        event.listen(self.engine, "connect", _checkpoint_backstop)
        self.engine.dispose()  # connections already open are made again with the backstop
        self._checkpoints = _Checkpoints(path, every)
        return True

    def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
            self._checkpoints = None
        self.engine.dispose()


class WriteBusy(Exception):
    """A write asked not to wait (`wait=False`) found another writer at work; nothing was
    done."""


_BUSY = "another writer holds the database's write lock"
_CONFLICT = (
    "another request changed or removed the same thing at the same moment; "
    "nothing was changed: try again"
)


#: how long a SQLite writer waits for another process's write lock, and its longest nap
_SQLITE_WRITE_WAIT = 30.0
_SQLITE_NAP = 0.002


def _begin_immediate(conn: Connection, wait: bool = True) -> None:
    """Take SQLite's write lock, trying again every millisecond or two while another process
    holds it (SQLite's own busy handler sleeps ever longer, up to 100 ms a time: a writer
    that loses a few rounds would wait far longer than the lock is held), or with `wait=False`
    not at all (`WriteBusy`). Writers that do not queue on the writers' file lock (short
    writes in a plain transaction, such as the match recorder's, or another program) can
    still hold it."""
    # straight on the driver's connection: three statements through SQLAlchemy cost more
    # than a small write itself
    raw = conn.connection.dbapi_connection
    assert isinstance(raw, sqlite3.Connection)
    raw.execute("PRAGMA busy_timeout = 0")
    deadline = time.monotonic() + _SQLITE_WRITE_WAIT
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, e) from e
                if not wait:
                    raise WriteBusy(_BUSY) from None
                time.sleep(random.uniform(0.0002, _SQLITE_NAP))
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(_SQLITE_WRITE_WAIT * 1000)}")


def _concurrency_error(e: DBAPIError) -> bool:
    sqlstate = getattr(e.orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _CONCURRENCY_SQLSTATES
    return "FOREIGN KEY constraint failed" in str(e.orig)  # SQLite


class _Checkpoints:
    """The thread that checkpoints one SQLite file's write-ahead log (passive: as much of it
    as no reader still needs, without waiting), on a connection of its own."""

    def __init__(self, path: str, every: float) -> None:
        self._path, self._every = path, every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while not self._stopping.wait(self._every):
            try:
                if conn is None:
                    conn = sqlite3.connect(self._path, isolation_level=None)
                # the thread lets go of the interpreter while SQLite copies and syncs
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as e:  # another process's checkpoint, a vanished file
                _log.debug("checkpoint of %s: %s", self._path, e)
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)


def _checkpoint_backstop(dbapi_conn, _record) -> None:
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
