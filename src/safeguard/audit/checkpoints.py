"""Signed checkpoints of the audit chain: its head (seq and hash) signed with the Ed25519 key
kept outside the database (signing.py).

Each checkpoint is written twice: as an `audit_checkpoints` row and as a JSON line appended
to `<SAFEGUARD_HOME>/audit/checkpoints.jsonl`, outside the database, so that someone who
deletes the newest entries and the checkpoint rows covering them is still found out. A copy
of that file kept elsewhere (`safeguard audit verify --checkpoints FILE`) survives even its
deletion. `safeguard worker` makes one periodically (`checkpoint_task`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.audit import signing
from safeguard.audit.chain import GENESIS, lock_appends
from safeguard.audit.walk import walk
from safeguard.config import Settings
from safeguard.errors import ConfigError, InvalidRequest
from safeguard.store import Database
from safeguard.store.audit_tables import AuditCheckpoint, AuditEntry
from safeguard.store.models import utcnow

if TYPE_CHECKING:
    from safeguard.access.people import Actor

#: how much of the end of the checkpoints file is read to find its last line
_TAIL_BYTES = 8192


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at `seq` (`head_hash`), signed by the key named `key_id`."""

    seq: int
    head_hash: str
    signature: str  # hex Ed25519 signature over signing.message(seq, head_hash)
    key_id: str
    at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "head_hash": self.head_hash,
            "signature": self.signature,
            "key_id": self.key_id,
            "at": self.at.astimezone(UTC).isoformat(),
        }

    @classmethod
    def from_json(cls, obj: object) -> Checkpoint:
        """A checkpoint from its JSON form; ValueError naming what is wrong."""
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
        try:
            seq, head, signature = obj["seq"], obj["head_hash"], obj["signature"]
            key, at = obj["key_id"], datetime.fromisoformat(obj["at"])
        except KeyError as e:
            raise ValueError(f"no {e.args[0]!r}") from None
        except (TypeError, ValueError):
            raise ValueError("'at' is not a time") from None
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise ValueError("'seq' is not a positive whole number")
        if not all(isinstance(v, str) for v in (head, signature, key)):
            raise ValueError("'head_hash', 'signature' and 'key_id' must be text")
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return cls(seq, head, signature, key, at)

    @classmethod
    def from_row(cls, row: AuditCheckpoint) -> Checkpoint:
        return cls(row.seq, row.head_hash, row.signature, row.key_id, row.at)

    def describe(self) -> str:
        """How a reason names it: "the checkpoint of 2026-12-02 15:04:05 UTC (entry 52)"."""
        return (
            f"the checkpoint of {self.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (entry {self.seq})"
        )


def checkpoints_file(settings: Settings) -> Path:
    """The checkpoints kept outside the database."""
    return settings.home / "audit" / "checkpoints.jsonl"


def read_file(path: Path) -> Iterator[tuple[int, Checkpoint | str]]:
    """(line number, checkpoint) for each line of a checkpoints file, or (line number, what
    is wrong with it) for a line that is not a checkpoint. A missing file has none."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    yield number, _parse(line)
    except FileNotFoundError:
        return
    except OSError as e:
        raise ConfigError(f"cannot read checkpoints file {path}: {e.strerror}") from None


def checkpoint(db: Database, settings: Settings, *, actor: Actor | None = None) -> Checkpoint:
    """Sign the chain's head, store the checkpoint in the database and in the checkpoints
    file, and return it; when the head has not moved since the newest checkpoint, return
    that one and write nothing.

    The entries since the newest checkpoint are checked first: a chain that does not verify
    is never signed (InvalidRequest says why). `actor`, when given, must be allowed to read
    the audit log; None is a trusted caller (the worker)."""
    if actor is not None:
        actor.require(actor.may_read_audit(), "checkpoint the audit log")
    key = signing.private_key(signing.key_path(settings))
    path = checkpoints_file(settings)
    # the checking, the long part, blocks no writer: it reads, then signs the head it read
    with db.transaction() as s:
        last = _newest(s, path)
        if last is not None and not signing.signature_valid(
            key.public_key(), last.seq, last.head_hash, last.signature
        ):
            raise _refuse(f"{last.describe()} is not signed by this installation's key")
        seq, head_hash = _verified_head(s, last)
    if last is not None and last.seq == seq:
        return last
    new = Checkpoint(
        seq,
        head_hash,
        key.sign(signing.message(seq, head_hash)).hex(),
        signing.key_id(key.public_key()),
        utcnow(),
    )
    with db.write_transaction() as s:
        lock_appends(s)  # one checkpoint writer at a time
        newest = _newest(s, path)
        if newest is not None and newest.seq >= seq:  # another process signed it just now
            return newest
        _append(path, new)  # before the commit: no row is ever missing from the file
        s.add(AuditCheckpoint(**{k: getattr(new, k) for k in _COLUMNS}))
    return new


def checkpoint_task(settings: Settings) -> Callable[[datetime], None]:
    """What `safeguard worker` runs periodically: a checkpoint when the log has moved on
    since the last one (nothing for an empty log)."""

    def run(now: datetime) -> None:
        db = Database.open(settings.database_url)
        try:
            with db.transaction() as s:
                if s.scalar(select(AuditEntry.seq).limit(1)) is None:
                    return
            checkpoint(db, settings)
        finally:
            db.close()

    return run


_COLUMNS = ("seq", "head_hash", "signature", "key_id", "at")


def _parse(line: str) -> Checkpoint | str:
    try:
        return Checkpoint.from_json(json.loads(line))
    except ValueError as e:
        return f"not a checkpoint ({e})"


def _newest(s: Session, path: Path) -> Checkpoint | None:
    """The newest checkpoint, of the database's and the file's last (a file whose last
    line is not a checkpoint is refused)."""
    row = s.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))
    found = [Checkpoint.from_row(row)] if row is not None else []
    line = _last_line(path)
    if line is not None:
        parsed = _parse(line)
        if isinstance(parsed, str):
            raise _refuse(f"the last line of {path} is {parsed}")
        found.append(parsed)
    return max(found, key=lambda c: c.seq, default=None)


def _verified_head(s: Session, last: Checkpoint | None) -> tuple[int, str]:
    """The head's seq and hash, once the chain still holds `last`'s head (when there is a
    last checkpoint) and verifies from there on; InvalidRequest otherwise."""
    after, prev = 0, GENESIS
    if last is not None:
        stored = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == last.seq))
        if stored is None:
            raise _refuse(f"entry {last.seq}, covered by {last.describe()}, is gone")
        if stored != last.head_hash:
            raise _refuse(f"entry {last.seq} differs from what {last.describe()} signed")
        after, prev = last.seq, last.head_hash
    result = walk(s, after=after, prev_hash=prev)
    if result.problem is not None:
        raise _refuse(result.problem.reason)
    if result.last_seq == 0:
        raise InvalidRequest("the audit log is empty: there is nothing to sign yet")
    return result.last_seq, result.last_hash


def _refuse(reason: str) -> InvalidRequest:
    return InvalidRequest(
        f"the audit log does not verify: {reason}; nothing was signed "
        "(see `safeguard audit verify`)"
    )


def _last_line(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - _TAIL_BYTES))
            lines = [x for x in f.read().splitlines() if x.strip()]
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(f"cannot read checkpoints file {path}: {e.strerror}") from None
    return lines[-1].decode("utf-8", "replace") if lines else None


def _append(path: Path, cp: Checkpoint) -> None:
    """One line, written with one call to the end of the file, and flushed to disk."""
    line = (json.dumps(cp.to_json(), separators=(",", ":")) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        raise ConfigError(f"cannot write checkpoints file {path}: {e.strerror}") from None
