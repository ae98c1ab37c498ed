"""Statements run on the database driver (store/driver.py): what they write reads back as
SQLAlchemy wrote it, a driver error is SQLAlchemy's error and undoes the transaction, and
an expanding IN list takes any length. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from safeguard.store import Database
from safeguard.store.driver import DriverStatement
from safeguard.store.review_tables import Case, Event

_NEW_EVENT = DriverStatement(insert(Event).returning(Event.id))
_BY_ACCOUNT = DriverStatement(
    select(Event.id, Event.account_id)
    .where(Event.account_id.in_(bindparam("accounts", expanding=True)))
    .order_by(Event.id),
    expanding="accounts",
)
_BUMP = DriverStatement(
    update(Case).where(Case.id == bindparam("case_id")).values(version=Case.version + 1)
)


def _event(account: str, external_id: str | None = None) -> dict[str, object]:
    return {
        "kind": "upload",
        "account_id": account,
        "external_id": external_id,
        "received_at": datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=UTC),
        "submitted_by": "test",
        "verdict": "hold",
        "rules": ["default-match"],
        "case_id": None,
        "detail": {"signals": {"pdq": "ab" * 32}, "score": 0.5, "none": None},
    }


def test_rows_written_on_the_driver_read_back_as_sqlalchemy_writes_them(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        with db.write_transaction() as s:
            ((driver_id,),) = _NEW_EVENT.rows(s, _event("a"))
            s.connection().execute(insert(Event), [_event("b")])
        with db.transaction() as s:
            a, b = s.scalars(select(Event).order_by(Event.account_id)).all()
        assert a.id == driver_id
        for column in ("kind", "external_id", "received_at", "verdict", "rules", "detail"):
            assert getattr(a, column) == getattr(b, column), column
        assert a.received_at.tzinfo is not None and a.received_at == _event("a")["received_at"]
    finally:
        db.close()


def test_many_rows_return_their_ids_in_order(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        accounts = [f"acct-{n}" for n in range(40)]
        with db.write_transaction() as s:
            ids = [i for (i,) in _NEW_EVENT.returning(s, [_event(a) for a in accounts])]
        with db.transaction() as s:
            stored = {i: a for i, a in s.execute(select(Event.id, Event.account_id))}
        assert [stored[i] for i in ids] == accounts and len(set(ids)) == 40
    finally:
        db.close()


def test_a_driver_error_is_sqlalchemys_and_undoes_the_whole_transaction(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        with db.write_transaction() as s:
            _NEW_EVENT.rows(s, _event("a", external_id="same"))
        with pytest.raises(IntegrityError), db.write_transaction() as s:
            _NEW_EVENT.rows(s, _event("b"))
            _NEW_EVENT.rows(s, _event("c", external_id="same"))  # a unique index says no
        with pytest.raises(IntegrityError), db.write_transaction() as s:
            rows = [_event("d"), _event("e", external_id="same"), _event("f")]
            _NEW_EVENT.returning(s, rows)
        with db.transaction() as s:
            assert s.scalars(select(Event.account_id)).all() == ["a"]
    finally:
        db.close()


def test_an_expanding_list_takes_any_length_and_constants_stay_in_the_statement(
    db_url: str,
) -> None:
    db = Database.open(db_url)
    try:
        with db.write_transaction() as s:
            ids = [_NEW_EVENT.rows(s, _event(a))[0][0] for a in ("a", "b", "c", "d")]
            s.add(Case(account_id="a", state="open"))
        with db.write_transaction() as s:
            assert _BY_ACCOUNT.rows(s, {"accounts": ["c"]}) == [(ids[2], "c")]
            got = _BY_ACCOUNT.rows(s, {"accounts": ["d", "a", "x"]})
            assert got == [(ids[0], "a"), (ids[3], "d")]
            assert _BY_ACCOUNT.rows(s, {"accounts": []}) == []
            case_id = s.scalar(select(Case.id))
            _BUMP.many(s, [{"case_id": case_id}, {"case_id": case_id}])
        with db.transaction() as s:
            assert s.scalar(select(Case.version)) == 3
    finally:
        db.close()


def test_one_row_runs_as_a_plain_execute_with_the_same_results_and_errors(db_url: str) -> None:
    """A batch of one (the usual write of a quiet server) skips the driver's executemany:
    the same id back, the same update, the same error and undo as a longer batch."""
    db = Database.open(db_url)
    try:
        with db.write_transaction() as s:
            ((first,),) = _NEW_EVENT.returning(s, [_event("a", external_id="one")])
            s.add(Case(account_id="a", state="open"))
        with db.write_transaction() as s:
            _BUMP.many(s, [{"case_id": s.scalar(select(Case.id))}])
        with pytest.raises(IntegrityError), db.write_transaction() as s:
            _NEW_EVENT.returning(s, [_event("b")])
            _NEW_EVENT.returning(s, [_event("c", external_id="one")])
        with pytest.raises(IntegrityError), db.write_transaction() as s:
            _BUMP.many(s, [{"case_id": s.scalar(select(Case.id))}])  # undone below
            _NEW_EVENT.many(s, [_event("d", external_id="one")])
        with db.transaction() as s:
            assert s.execute(select(Event.id, Event.account_id)).all() == [(first, "a")]
            assert s.scalar(select(Case.version)) == 2
    finally:
        db.close()
