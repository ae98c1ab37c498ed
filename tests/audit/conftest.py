"""Fixtures of the audit-log tests: a log written by real operations through the CLI, and an
attacker who holds the database (drops the append-only triggers, then edits rows)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, delete, select, text, update

from safeguard.audit.chain import canonical, entry_hash
from safeguard.store.audit_tables import AuditCheckpoint, AuditEntry
from tests.conftest import Cli

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
LOG = AuditEntry.__table__
CHECKPOINTS = AuditCheckpoint.__table__

#: what `logged` does, in order, as audit actions
LOGGED_ACTIONS = [
    "user.create",
    "user.create",
    "bank.create",
    "content.import",
    "key.create",
    "key.revoke",
    "bank.disable",
]


@pytest.fixture
def logged(cli: Cli, tmp_path: Path) -> Cli:
    """A store whose audit log holds real operations, made through the CLI."""
    hashes = tmp_path / "list.csv"
    hashes.write_text(f"signal_type,signal_value\npdq,{PDQ}\nmd5,{MD5}\n")
    for args in (
        ("users", "add", "aud", "--role", "auditor"),
        ("users", "add", "mod", "--role", "moderator"),
        ("bank", "create", "known"),
        ("bank", "import", "known", hashes),
        ("keys", "create", "ingest", "--scope", "match"),
        ("keys", "revoke", "ingest"),
        ("bank", "disable", "known"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, result.output
    return cli


def verify(cli: Cli, *args: object) -> tuple[int, dict[str, object]]:
    """`safeguard audit verify --json`: its exit code and report."""
    result = cli("audit", "verify", "--json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def tampered(cli: Cli, first_bad: int | None, *words: str) -> dict[str, object]:
    """Assert that verify finds the log tampered with, at `first_bad`, saying `words`."""
    code, report = verify(cli)
    assert code == 1 and report["ok"] is False, report
    assert report["first_bad"] == first_bad, report
    reason = str(report["reason"])
    assert all(w in reason for w in words), reason
    return report


@pytest.fixture
def attacker(db_url: str) -> Iterator[Connection]:
    """A connection as a database administrator has it, the append-only triggers dropped;
    each statement commits at once."""
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        yield conn
    engine.dispose()


def edit(conn: Connection, seq: int, **values: object) -> None:
    conn.execute(update(LOG).where(LOG.c.seq == seq).values(**values))


def remove(conn: Connection, *seqs: int) -> None:
    conn.execute(delete(LOG).where(LOG.c.seq.in_(seqs)))


def rehash_from(conn: Connection, seq: int) -> None:
    """Recompute every hash from entry `seq` to the head, as an attacker who knows the
    scheme would after editing entry `seq`: the chain itself is consistent again."""
    prev = conn.scalar(select(LOG.c.hash).where(LOG.c.seq == seq - 1))
    rows = conn.execute(select(LOG).where(LOG.c.seq >= seq).order_by(LOG.c.seq)).all()
    for r in rows:
        new = entry_hash(prev, canonical(r.seq, r.at, r.actor, r.action, r.subject, r.detail))
        edit(conn, r.seq, prev_hash=prev, hash=new)
        prev = new


def checkpoint_rows(conn: Connection) -> int:
    return len(conn.execute(select(CHECKPOINTS.c.id)).all())
