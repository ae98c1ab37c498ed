"""Finding an account's active case uses the partial unique index on active cases.

The index covers `state IN ('open', 'in_review')`; a query that binds the states as
parameters cannot use it (neither SQLite nor a generic PostgreSQL plan can prove the query
implies the index's condition) and scans every active case instead, which made writing a
matched event slower with every case open. `case_is_active()` writes the states into the SQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from safeguard import Safeguard
from safeguard.store.review_tables import ACTIVE_CASE_STATES, Case, case_is_active

INDEX = "uq_cases_active_account"


def _query(active: object) -> object:
    return select(Case.id).where(Case.account_id.in_(["acct-1", "acct-2"]), active)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_finds_an_accounts_active_case_by_the_partial_index(sg: Safeguard) -> None:
    with sg.db.engine.connect() as conn:

        def plan(active: object) -> str:
            compiled = _query(active).compile(conn, compile_kwargs={"literal_binds": True})
            return " ".join(
                str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            )

        assert INDEX in plan(case_is_active())
        # the same condition with bound states does not reach the index
        bound = sg.db.engine.raw_connection()
        try:
            rows = bound.driver_connection.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM cases WHERE account_id IN (?, ?) "
                "AND state IN (?, ?)",
                ("acct-1", "acct-2", *ACTIVE_CASE_STATES),
            ).fetchall()
        finally:
            bound.close()
        assert INDEX not in " ".join(str(r[-1]) for r in rows)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_generic_plans_use_the_partial_index(sg: Safeguard) -> None:
    """A prepared statement's generic plan (what a busy server ends up running) can use the
    index only when the states are in the SQL."""
    compiled = _query(case_is_active()).compile(sg.db.engine)
    sql = str(compiled).replace("__[POSTCOMPILE_account_id_1]", "$1, $2")
    with sg.db.engine.connect() as conn:
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql("SET enable_seqscan = off")  # an empty table is scanned otherwise
        conn.exec_driver_sql(f"PREPARE active_case (text, text) AS {sql}")
        plan = " ".join(
            r[0] for r in conn.exec_driver_sql("EXPLAIN EXECUTE active_case ('acct-1', 'acct-2')")
        )
    assert INDEX in plan


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_repeated_platform_event_id_is_found_by_its_partial_index(sg: Safeguard) -> None:
    """`ix_events_external` lists only events with a platform id (migration 0018); looking
    ids up, as a resubmitted event does, still goes through it, with bound parameters."""
    from safeguard.store.review_tables import Event

    query = select(Event.id).where(Event.external_id.in_(["p-1", "p-2"]))
    with sg.db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            sql = str(query.compile(conn)).replace("__[POSTCOMPILE_external_id_1]", "$1, $2")
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql(f"PREPARE by_external (text, text) AS {sql}")
            rows = conn.exec_driver_sql("EXPLAIN EXECUTE by_external ('p-1', 'p-2')")
            plan = " ".join(r[0] for r in rows)
        else:
            raw = conn.connection.driver_connection
            rows = raw.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM events WHERE external_id IN (?, ?)",
                ("p-1", "p-2"),
            ).fetchall()
            plan = " ".join(str(r[-1]) for r in rows)
    assert "ix_events_external" in plan
