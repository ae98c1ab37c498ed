"""Appending to the audit chain: each entry's hash covers the previous entry's hash and this
entry's canonical content, so no entry can be edited, removed or reordered unseen.

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by
the write lock the caller's `write_transaction` holds. The entry is written in the caller's
transaction, so it exists exactly when the change it records does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from safeguard.store.audit_tables import AuditEntry
from safeguard.store.models import utcnow

#: the `prev_hash` of the first entry
GENESIS = "0" * 64
#: the advisory lock key that serialises appends on PostgreSQL ("sgaudit" in ASCII)
_LOCK_KEY = 0x7367617564697400
#: built once: an append runs these two statements and nothing else
_HEAD = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_INSERT = insert(AuditEntry).returning(AuditEntry.id)


def canonical(
    seq: int, at: datetime, actor: str, action: str, subject: str, detail: dict[str, object]
) -> bytes:
    """The bytes an entry's hash covers (besides the previous hash)."""
    # "2026-12-02T15:04:05.123456Z" (isoformat: as strftime("%Y-%m-%dT%H:%M:%S.%fZ"), faster)
    when = at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    body = {
        "seq": seq,
        "at": when,
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, content: bytes) -> str:
    """An entry's hash: SHA-256 over the previous entry's hash and this entry's content."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + content).hexdigest()


def lock_appends(session: Session) -> None:
    """Hold off other appends to the chain until `session`'s transaction ends (on SQLite the
    write transaction's lock already does)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def record(
    session: Session, actor: str, action: str, subject: str = "", **detail: object
) -> AuditEntry:
    """Append one audit entry in `session`'s transaction and return it. `detail` must be
    JSON-serialisable (it is stored and hashed as JSON).

    The entry is written on the session's connection at once and nothing the caller has
    pending in the session is flushed by it. On PostgreSQL the append holds a lock until
    the caller's commit: take the locks of the rows the change touches before calling this,
    so that no two transactions wait on each other (one that does is rolled back as a
    Conflict)."""
    lock_appends(session)
    conn = session.connection()
    last = conn.execute(_HEAD).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    # microsecond precision, as both databases store it
    at = utcnow()
    clean = json.loads(json.dumps(detail, default=str))
    values = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": clean,
        "prev_hash": prev,
        "hash": entry_hash(prev, canonical(seq, at, actor, action, subject, clean)),
    }
    row_id = conn.execute(_INSERT, values).scalar_one()
    return AuditEntry(id=row_id, **values)
