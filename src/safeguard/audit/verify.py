"""Verifying the audit log: the whole hash chain, then every signed checkpoint against it.

The chain is walked in seq order in bounded memory (walk.py): an entry edited, removed or
reordered is found there. A checkpoint (from the database, the checkpoints file and any
copy given) must be signed by this installation's key and match the chain at its seq: so a
chain rewritten consistently from some entry up to the head, or a tail cut off together
with the checkpoint rows covering it, is found too. Only entries after the newest
checkpoint rest on the hash chain alone (`VerifyReport.signed_through`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from safeguard.audit import signing
from safeguard.audit.checkpoints import Checkpoint, checkpoints_file, read_file
from safeguard.audit.walk import Problem, walk
from safeguard.config import Settings
from safeguard.errors import FileProblem
from safeguard.store import Database
from safeguard.store.audit_tables import AuditCheckpoint, AuditEntry

if TYPE_CHECKING:
    from safeguard.access.people import Actor


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    first_bad: int | None  # seq of the first entry found wrong (or first missing)
    reason: str | None
    checkpoints: int  # distinct checkpoints checked
    signed_through: int  # the highest seq a valid checkpoint covers (0: none)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad": self.first_bad,
            "reason": self.reason,
            "checkpoints": self.checkpoints,
            "signed_through": self.signed_through,
        }

    def summary(self) -> str:
        """One line for people."""
        if not self.ok:
            return f"NOT OK: {self.reason} ({self.entries} entries)"
        signed = (
            f"signed through entry {self.signed_through}" if self.signed_through else "none signed"
        )
        return (
            f"ok: {self.entries} entries, hash chain intact; "
            f"{self.checkpoints} checkpoint(s) valid, {signed}"
        )


def verify(
    db: Database,
    settings: Settings,
    *,
    extra_checkpoints: Path | None = None,
    actor: Actor | None = None,
) -> VerifyReport:
    """Check the whole audit log: its hash chain, then its checkpoints, from the database,
    the checkpoints file and `extra_checkpoints` (a copy kept elsewhere). `actor`, when
    given, must be allowed to read the audit log; None is a trusted caller."""
    if actor is not None:
        actor.require(actor.may_read_audit(), "verify the audit log")
    if extra_checkpoints is not None and not extra_checkpoints.is_file():
        raise FileProblem(f"{extra_checkpoints}: no such checkpoints file", "not_found")
    key_file = signing.key_path(settings)
    public = signing.public_key(key_file)
    files = [checkpoints_file(settings), *([extra_checkpoints] if extra_checkpoints else [])]
    with db.transaction() as s:
        # checkpoints first: each covers only entries committed before it was read
        rows = s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
        found, problems = _collect((Checkpoint.from_row(r) for r in rows), files)
        valid = _signed(found, public, key_file, problems)
        check = _CheckpointMatch(valid)
        result = walk(s, visit=check)
        entries = result.entries
        if result.problem is not None:
            entries = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
            problems.insert(0, result.problem)
        elif valid and valid[-1].seq > result.last_seq:
            beyond = valid[-1]
            ends = f"ends at entry {result.last_seq}" if result.last_seq else "is empty"
            problems.insert(
                0,
                Problem(
                    result.last_seq + 1,
                    f"the log {ends} but {beyond.describe()} covers {beyond.seq} entries: "
                    "the tail was truncated",
                ),
            )
    first = problems[0] if problems else None
    return VerifyReport(
        ok=first is None,
        entries=entries,
        first_bad=first.seq if first else None,
        reason=first.reason if first else None,
        checkpoints=len(found),
        signed_through=check.signed_through,
    )


class _CheckpointMatch:
    """The walk's visitor: the chain's hash at each checkpoint's seq must be the signed one."""

    def __init__(self, valid: list[Checkpoint]) -> None:
        self.at: dict[int, list[Checkpoint]] = {}
        for c in valid:
            self.at.setdefault(c.seq, []).append(c)
        self.signed_through = 0

    def __call__(self, seq: int, hash_: str) -> Problem | None:
        for c in self.at.get(seq, ()):
            if c.head_hash != hash_:
                since = self.signed_through + 1
                where = (
                    f"entry {seq} was rewritten"
                    if since == seq
                    else f"the log was rewritten between entries {since} and {seq}"
                )
                return Problem(
                    seq,
                    f"{where}: entry {seq}'s hash differs from the one signed in {c.describe()}",
                )
            self.signed_through = seq
        return None


def _collect(
    from_db: Iterable[Checkpoint], files: list[Path]
) -> tuple[list[Checkpoint], list[Problem]]:
    """The distinct checkpoints of every source, in seq order, and the lines of the files
    that are not checkpoints."""
    problems: list[Problem] = []
    seen: dict[tuple[int, str, str], Checkpoint] = {}
    for c in _chain(from_db, files, problems):
        seen.setdefault((c.seq, c.head_hash, c.signature), c)
    return sorted(seen.values(), key=lambda c: c.seq), problems


def _chain(
    from_db: Iterable[Checkpoint], files: list[Path], problems: list[Problem]
) -> Iterator[Checkpoint]:
    yield from from_db
    for path in files:
        for number, item in read_file(path):
            if isinstance(item, str):
                problems.append(Problem(None, f"{path} line {number} is {item}"))
            else:
                yield item


def _signed(
    found: list[Checkpoint],
    public: Ed25519PublicKey | None,
    key_file: Path,
    problems: list[Problem],
) -> list[Checkpoint]:
    """The checkpoints signed by this installation's key; a problem for each other one."""
    if public is None:
        if found:
            problems.append(
                Problem(
                    None,
                    f"no audit signing key at {key_file}: "
                    f"{len(found)} checkpoint(s) cannot be checked",
                )
            )
        return []
    ours = signing.key_id(public)
    valid = []
    for c in found:
        if signing.signature_valid(public, c.seq, c.head_hash, c.signature):
            valid.append(c)
        elif c.key_id != ours:
            problems.append(
                Problem(
                    None,
                    f"{c.describe()} is signed by another key (key id {c.key_id}, "
                    f"this installation's is {ours}): it is forged",
                )
            )
        else:
            problems.append(Problem(None, f"{c.describe()} has a bad signature: it is forged"))
    return valid
