"""Statements run on the database driver itself, for the few hot writes where SQLAlchemy's
own work per statement costs more than the database's: the write of a matched event
(docs/benchmarks.md, "Events": a handful of small statements per event, about 140 µs in
the driver and several times that through SQLAlchemy's execution machinery).

A `DriverStatement` is a Core statement compiled once per dialect (and per set of column
keys, or per length of its one expanding `IN` list), with its columns' bind processors
(datetimes, JSON, booleans), so the SQL still comes from the table definitions and values
are stored exactly as SQLAlchemy stores them. It runs on the driver connection under a
SQLAlchemy `Connection` or `Session`, inside that transaction: it commits and rolls back
with it. A driver error is raised as SQLAlchemy's (`IntegrityError`, `OperationalError`,
...), so callers handle one family of errors whichever way a statement ran.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any] | None
_CONSTANT = -1  # the index of a parameter whose value the statement holds


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters, in the order a positional driver takes them
    positional: bool
    processors: tuple[_Processor, ...]
    sources: tuple[tuple[str, int | None], ...]  # where each parameter's value comes from
    constants: dict[str, Any]


class DriverStatement:
    """A Core statement run on the driver connection (see the module docstring).

    `expanding` names the statement's one expanding bind parameter (`col.in_(bindparam(
    name, expanding=True))`), whose list is rendered as that many parameters."""

    def __init__(self, statement: ClauseElement, *, expanding: str | None = None) -> None:
        self.statement = statement
        self.expanding = expanding
        self._compiled: dict[tuple[object, ...], _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, bind: Connection | Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute once with `params` and return every row it gives (RETURNING, SELECT)."""
        conn, compiled, (values,) = self._prepare(bind, [params])
        with _cursor(conn, compiled.sql, values) as cursor:
            cursor.execute(compiled.sql, values)
            return list(cursor.fetchall()) if cursor.description else []

    def returning(
        self, bind: Connection | Session, rows: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Any, ...]]:
        """Execute an INSERT ... RETURNING once per row and return the row each gives, in
        order: pipelined where the driver can (psycopg's executemany with `returning`), else
        (and for one row, where the pipeline's own work costs more than it saves) one
        execute per row on one cursor (SQLite's are in-process calls). Every row has the
        same keys."""
        if not rows:
            return []
        conn, compiled, values = self._prepare(bind, rows)
        out: list[tuple[Any, ...]] = []
        with _cursor(conn, compiled.sql, values) as cursor:
            if conn.dialect.driver != "psycopg" or len(values) == 1:
                for row in values:
                    cursor.execute(compiled.sql, row)
                    out.append(cursor.fetchone())
                return out
            cursor.executemany(compiled.sql, values, returning=True)
            while True:
                out.append(cursor.fetchone())
                if not cursor.nextset():
                    return out

    def many(self, bind: Connection | Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row (the driver's executemany, or for one row an execute:
        psycopg's executemany enters and leaves a pipeline, a sixth of a one-event write's
        cost); every row has the same keys."""
        if not rows:
            return
        conn, compiled, values = self._prepare(bind, rows)
        with _cursor(conn, compiled.sql, values) as cursor:
            if len(values) == 1:
                cursor.execute(compiled.sql, values[0])
            else:
                cursor.executemany(compiled.sql, values)

    def _prepare(
        self, bind: Connection | Session, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[Connection, _Compiled, list[Any]]:
        """The connection, the statement compiled for its dialect and the first row's keys,
        and each row's values as the driver takes them."""
        conn = connection_of(bind)
        compiled = self._for(conn.dialect, rows[0])
        return conn, compiled, [_values(compiled, r) for r in rows]

    def _for(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        n = len(params[self.expanding]) if self.expanding else None
        key = (dialect.name, dialect.driver, n, tuple(params))
        found = self._compiled.get(key)
        if found is None:
            with self._lock:
                found = self._compiled[key] = self._compile(dialect, params, n)
        return found

    def _compile(self, dialect: Dialect, params: Mapping[str, Any], n: int | None) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(params))
        assert isinstance(compiled, SQLCompiler)
        prefetch = [
            *getattr(compiled, "insert_prefetch", ()),
            *getattr(compiled, "update_prefetch", ()),
        ]
        if prefetch:
            missing = [c.key for c in prefetch]
            raise ValueError(f"a driver statement needs every column given: {missing}")
        given = dict(params)
        if self.expanding:
            given[self.expanding] = [None] * (n or 0)
        state = compiled.construct_expanded_state(given)
        names = tuple(state.positiontup or state.parameters)
        expanded = {
            name: (base, i)
            for base, names_of in state.parameter_expansion.items()
            for i, name in enumerate(names_of)
        }
        # a parameter is one of the caller's, an element of the expanding list, or a value
        # the statement holds itself (`version + 1`)
        sources = tuple(
            expanded.get(name, (name, None) if name in params else (name, _CONSTANT))
            for name in names
        )
        processors = tuple(
            compiled.binds[base].type.dialect_impl(dialect).bind_processor(dialect)
            for base, _ in sources
        )
        constants = {k: state.parameters[k] for k, i in sources if i == _CONSTANT}
        return _Compiled(
            state.statement, names, state.positiontup is not None, processors, sources, constants
        )


def _values(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
    out = []
    for (name, index), process in zip(compiled.sources, compiled.processors, strict=True):
        if index is None:
            value = params[name]
        elif index == _CONSTANT:
            value = compiled.constants[name]
        else:
            value = params[name][index]
        out.append(process(value) if process is not None else value)
    return tuple(out) if compiled.positional else dict(zip(compiled.names, out, strict=True))


@contextlib.contextmanager
def _cursor(conn: Connection, sql: str, values: Any) -> Iterator[Any]:
    """A cursor of the driver connection under `conn`, its errors raised as SQLAlchemy's."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as e:
        raise _wrapped(conn.dialect, sql, values, e) from e
    finally:
        cursor.close()


def connection_of(bind: Connection | Session) -> Connection:
    """The Core connection of a connection or a session (its transaction's)."""
    return bind.connection() if isinstance(bind, Session) else bind


def _wrapped(dialect: Dialect, sql: str, params: Any, error: Exception) -> StatementError:
    return DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error, dialect=dialect)
