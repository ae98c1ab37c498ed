"""Walking the stored audit chain in seq order, in bounded memory, checking every link.

Each entry must come right after the one before (seq 1, 2, 3... with no gaps), name that
entry's hash as its `prev_hash`, and hash to its stored `hash` (chain.canonical and
chain.entry_hash). The walk stops at the first entry found wrong and says why in words;
verify.py adds the signed checkpoints on top, checkpoints.py walks the part of the chain
since the last checkpoint before it signs a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.audit.chain import GENESIS, canonical, entry_hash
from safeguard.store.audit_tables import AuditEntry

#: rows fetched from the database at a time
_BATCH = 2000


@dataclass(frozen=True)
class Problem:
    """Something wrong with the log: the first entry found wrong (None when the problem is
    not an entry's, e.g. a forged checkpoint) and what is wrong, in words."""

    seq: int | None
    reason: str


@dataclass(frozen=True)
class Walk:
    """How far a walk got: entries read, the last good entry's seq and hash, and the problem
    it stopped at (None when every entry was right)."""

    entries: int
    last_seq: int
    last_hash: str
    problem: Problem | None


#: called with each good entry's seq and hash; a Problem it returns stops the walk
Visitor = Callable[[int, str], Problem | None]


def walk(
    session: Session, *, after: int = 0, prev_hash: str = GENESIS, visit: Visitor | None = None
) -> Walk:
    """Check the entries after seq `after` (whose hash is `prev_hash`) up to the head."""
    columns = (
        AuditEntry.seq,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.subject,
        AuditEntry.detail,
        AuditEntry.prev_hash,
        AuditEntry.hash,
    )
    query = (
        select(*columns)
        .where(AuditEntry.seq > after)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=_BATCH)
    )
    count, last_seq, last_hash = 0, after, prev_hash
    for seq, at, actor, action, subject, detail, prev, stored in session.execute(query):
        problem = _link_problem(seq, last_seq, prev, last_hash)
        if problem is None and stored != entry_hash(
            prev, canonical(seq, at, actor, action, subject, detail)
        ):
            problem = Problem(seq, f"entry {seq} was changed (its hash does not match its content)")
        if problem is None and visit is not None:
            problem = visit(seq, stored)
        if problem is not None:
            return Walk(count, last_seq, last_hash, problem)
        count, last_seq, last_hash = count + 1, seq, stored
    return Walk(count, last_seq, last_hash, None)


def _link_problem(seq: int, last_seq: int, prev: str, last_hash: str) -> Problem | None:
    expected = last_seq + 1
    if seq != expected:
        if seq - expected == 1:
            missing = f"entry {expected} is missing"
        else:
            missing = f"entries {expected} to {seq - 1} are missing"
        where = (
            f"the log starts at entry {seq}"
            if last_seq == 0
            else (f"seq jumps from {last_seq} to {seq}")
        )
        return Problem(expected, f"{missing} ({where})")
    if prev != last_hash:
        if last_seq == 0:
            return Problem(seq, "entry 1 was changed (its prev_hash is not the chain's start)")
        return Problem(
            seq,
            f"entry {seq} does not follow entry {last_seq} (its prev_hash is not entry "
            f"{last_seq}'s hash): one of them was changed",
        )
    return None
