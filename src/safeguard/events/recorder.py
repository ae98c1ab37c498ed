"""`MatchRecorder`: every match of a lookup becomes a `match.recorded` row in the change log.

`record(results, actor)` only queues: it takes no lock held by anything slow, touches no
database and never raises, so a lookup costs the same whether its matches are recorded or
not. A background thread writes the queue in batches (every `interval` seconds, or sooner
once `batch_size` records wait), one transaction per batch, through the change log that
replicas and subscriptions (`Subscription`) already follow. Each row holds who asked
(`actor`: `key:<name>`, `cli:<user>`), when (`at`: the time of the lookup), the bank (id and
name) and content id that matched, and in `detail` the signal type, distance, variant,
external id, where the lookup came from (`source`) and, when given, the request id and the
subject (what was looked up).

The queue is bounded (`max_pending`): when it is full a record is dropped and counted
(`dropped`), and a warning is logged at most once per `log_every` seconds. A batch whose
write fails is tried once more and then dropped (`failed`), with a log line; the thread
goes on. `flush()` writes everything queued so far; `close()` flushes and stops (twice is
harmless). With `enabled=False` nothing is queued or written.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _quote

from sqlalchemy import select

from safeguard.matching.results import Match, MatchResult
from safeguard.store import Bank, Database

log = logging.getLogger("safeguard.events.recorder")

#: the change-log action of a recorded match
MATCH_RECORDED = "match.recorded"

#: rows per INSERT statement: 7 parameters each, within SQLite's limit of 999 before 3.32
_ROWS_PER_INSERT = 500 if sqlite3.sqlite_version_info >= (3, 32) else 140

# (lookup time, actor, source, request id, subject, match)
_Item = tuple[float, str, str, str | None, str | None, Match]


class MatchRecorder:
    """Queues match records and writes them from a background thread (see module doc)."""

    def __init__(
        self,
        db: Database,
        *,
        enabled: bool = True,
        interval: float = 1.0,
        batch_size: int = 5000,
        max_pending: int = 100_000,
        log_every: float = 60.0,
    ) -> None:
        self.db = db
        self.enabled = enabled
        self.interval = interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.log_every = log_every
        self._pending: deque[_Item] = deque()
        self._count_lock = threading.Lock()
        self._dropped = 0
        self._failed = 0
        self._written = 0
        self._logged_drops = 0
        self._last_drop_log = 0.0
        self._write_lock = threading.Lock()  # one batch written at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False

    # -- the lookup side ---------------------------------------------------------------------

    def record(
        self,
        results: MatchResult | Sequence[MatchResult],
        actor: str,
        *,
        source: str = "library",
        request_id: str | None = None,
        subjects: Sequence[str | None] | None = None,
    ) -> None:
        """Queue a record of each match in `results` (the results of one lookup; those
        without matches record nothing). `subjects`, if given, names what each result's
        query was (a file name, an upload id), in the same order. Never blocks, never
        raises."""
        if not self.enabled:
            return
        try:
            if isinstance(results, MatchResult):
                results = (results,)
            now = 0.0
            pending = self._pending
            for i, r in enumerate(results):
                if not r.matches:
                    continue
                if not now:
                    now = time.time()
                subject = subjects[i] if subjects is not None else None
                for m in r.matches:
                    if self._closed or len(pending) >= self.max_pending:
                        self._drop(1)
                        continue
                    pending.append((now, actor, source, request_id, subject, m))
            if now:
                if self._thread is None:
                    self._start()
                if len(pending) >= self.batch_size:
                    self._wake.set()
        except Exception:  # a record is never worth a failed lookup
            log.exception("a match record could not be queued")
            self._drop(1)

    @property
    def dropped(self) -> int:
        """Records lost because the queue was full (or the recorder closed)."""
        return self._dropped

    @property
    def failed(self) -> int:
        """Records lost because their batch could not be written, twice."""
        return self._failed

    @property
    def written(self) -> int:
        """Records written to the change log."""
        return self._written

    @property
    def pending(self) -> int:
        """Records queued and not written yet."""
        return len(self._pending)

    # -- writing -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything queued so far (in the calling thread); never raises."""
        while self._pending:
            self._write_batch()

    def close(self) -> None:
        """Flush and stop the background thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def __enter__(self) -> MatchRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closed:
                t = threading.Thread(target=self._run, name="match-recorder", daemon=True)
                t.start()
                self._thread = t

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
                self._log_drops()
            except Exception:  # pragma: no cover - _write_batch catches its own errors
                log.exception("match recorder: unexpected error; going on")

    def _write_batch(self) -> None:
        with self._write_lock:
            items: list[_Item] = []
            pending = self._pending
            while pending and len(items) < self.batch_size:
                items.append(pending.popleft())
            if not items:
                return
            for attempt in (1, 2):
                try:
                    self._insert(items)
                    self._written += len(items)
                    return
                except Exception as e:
                    reason = f"{type(e).__name__}: {e}".splitlines()[0]
                    if attempt == 1:
                        log.warning(
                            "writing %d match records failed (%s); retrying", len(items), reason
                        )
                        time.sleep(0.05)
                    else:
                        log.error(
                            "writing %d match records failed again (%s); they are dropped",
                            len(items),
                            reason,
                        )
            with self._count_lock:
                self._failed += len(items)

    def _insert(self, items: list[_Item]) -> None:
        """One transaction: the rows go to the driver as they are, in the formats SQLAlchemy
        itself writes (JSON text; on SQLite, UTC timestamps as text), skipping its per-row
        parameter processing (about 9 µs of CPU a row on SQLite and 20-25 on PostgreSQL,
        against about 20 and 100 before; bench/recording.py)."""
        sqlite = self.db.engine.dialect.name == "sqlite"
        names = sorted({it[5].bank for it in items})
        stamps: dict[float, object] = {}
        with self.db.transaction() as s:
            # the id of each matched bank, read now by name (a batch names a few banks): a
            # bank deleted since the lookup leaves bank_id empty, its name stays
            q = select(Bank.name, Bank.id).where(Bank.name.in_(names))
            bank_ids: dict[str, int] = {name: bid for name, bid in s.execute(q)}
            rows = []
            for at, actor, source, request_id, subject, m in items:
                stamp = stamps.get(at)
                if stamp is None:  # one per record() call, shared by its matches
                    stamp = stamps[at] = _sqlite_time(at) if sqlite else _pg_time(at)
                rows.append(
                    (
                        stamp,
                        str(actor)[:200],
                        MATCH_RECORDED,
                        bank_ids.get(m.bank),
                        m.bank[:100],
                        m.content_id,
                        _detail(m, source, request_id, subject),
                    )
                )
            conn = s.connection()
            if not sqlite:
                # COPY: rows stream to the server with almost no Python per row (a
                # multi-row INSERT spends most of its time converting its parameters)
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                with cursor.copy(_COPY_PG) as copy:
                    for row in rows:
                        copy.write_row(row)
                return
            for i in range(0, len(rows), _ROWS_PER_INSERT):
                part = rows[i : i + _ROWS_PER_INSERT]
                params = [v for row in part for v in row]
                conn.exec_driver_sql(_insert_sql(len(part)), tuple(params))

    def _drop(self, n: int) -> None:
        with self._count_lock:
            self._dropped += n

    def _log_drops(self) -> None:
        new = self._dropped - self._logged_drops
        now = time.monotonic()
        if new and now - self._last_drop_log >= self.log_every:
            log.warning(
                "match recorder queue full (%d records): %d records dropped since the last report",
                self.max_pending,
                new,
            )
            self._logged_drops += new
            self._last_drop_log = now


def _pg_time(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


@functools.lru_cache(maxsize=64)
def _utc_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _sqlite_time(at: float) -> str:
    """A UTC time as SQLAlchemy stores a DateTime on SQLite (and reads it back):
    `YYYY-MM-DD HH:MM:SS.ffffff` (strftime per row would cost more than the insert)."""
    second, micro = divmod(round(at * 1_000_000), 1_000_000)
    return f"{_utc_second(second)}.{micro:06d}"


def _detail(m: Match, source: str, request_id: str | None, subject: str | None) -> str:
    """The row's `detail` as JSON text, written directly (a third of the cost of
    `json.dumps` of a dict, on a path that runs once per match)."""
    out = (
        f'{{"signal_type": {_str(m.signal_type)}, "distance": {int(m.distance)}, '
        f'"variant": {_str(m.variant)}, "external_id": {_str(m.external_id)}, '
        f'"source": {_str(source)}'
    )
    if request_id is not None:
        out += f', "request_id": {_str(request_id)}'
    if subject is not None:
        out += f', "subject": {_str(subject)}'
    return out + "}"


def _str(value: object) -> str:
    return "null" if value is None else _quote(str(value))


_INSERT = "INSERT INTO change_log (at, actor, action, bank_id, bank_name, content_id, detail) "
_COPY_PG = "COPY change_log (at, actor, action, bank_id, bank_name, content_id, detail) FROM STDIN"


@functools.lru_cache(maxsize=16)
def _insert_sql(n: int) -> str:
    """One multi-row INSERT of `n` rows for SQLite. One statement, not `executemany`: the
    driver releases the GIL once per statement, so the lookups running beside this
    thread are interrupted once per batch rather than once per row."""
    return _INSERT + "VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * n)
