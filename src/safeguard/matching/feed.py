"""`ChangeFeed`: every committed change-log row, each read once, whatever order it commits in.

Change-log ids come from a sequence, but on PostgreSQL a transaction can take an id and commit
after another transaction that took a later one. The feed therefore keeps a cursor (the
highest id read) and a list of the ids below it that it has not seen yet ("gaps"); each poll
asks for rows above the cursor or in the gaps. A gap that stays empty for `gap_ttl` seconds
was a rolled-back transaction and is forgotten.

A feed can be narrowed to the rows its owner wants (`actions`: these action names only;
`skip`: never actions starting with these prefixes, e.g. `"match."` for a matcher that
has no use for match records). The rows it does not want still move the cursor, but the
query leaves their payload (who, when, bank name, details) in the database, and when the
ids above the cursor are contiguous (no transaction in flight below the newest) it counts
them there and fetches only the wanted rows, so a log that is mostly match records stays
cheap to follow. Its position can be saved and resumed
(`state`, `resume`): that is how a durable subscription (safeguard.events) works. Gaps
are queried as id ranges, so a large batch committing late costs one condition, not one
parameter per id.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, not_, null, or_, select
from sqlalchemy.sql.elements import ColumnElement

from safeguard.store import Change, Database

#: how far below the head a build looks for ids still in flight
_BUILD_WINDOW = 10_000

#: the columns of a row beyond id, action, bank and content
_PAYLOAD = (Change.detail, Change.at, Change.actor, Change.bank_name)


@dataclass(frozen=True)
class ChangeRow:
    id: int
    action: str
    bank_id: int | None
    content_id: int | None
    detail: dict[str, object] = field(default_factory=dict)
    at: datetime | None = None
    actor: str = ""
    bank_name: str | None = None


class ChangeFeed:
    def __init__(
        self,
        db: Database,
        *,
        gap_ttl: float = 300.0,
        max_gaps: int = 10_000,
        batch: int = 5000,
        actions: Collection[str] | None = None,
        skip: Sequence[str] = (),
    ) -> None:
        self.db = db
        self.gap_ttl = gap_ttl
        self.max_gaps = max_gaps
        self.batch = batch
        self.actions = frozenset(actions) if actions is not None else None
        self.skip = tuple(skip)
        self.cursor = 0
        self._gaps: dict[int, float] = {}

    @property
    def gaps(self) -> list[int]:
        return sorted(self._gaps)

    def state(self) -> tuple[int, list[int]]:
        """The position to save: the cursor and the ids below it not seen yet."""
        return self.cursor, self.gaps

    def resume(self, cursor: int, gaps: Iterable[int] = ()) -> None:
        """Continue from a saved `state()` (each gap gets a fresh `gap_ttl`)."""
        now = time.monotonic()
        self.cursor = int(cursor)
        self._gaps = {int(i): now for i in gaps if int(i) < self.cursor}

    def wants(self, action: str) -> bool:
        """Whether this feed returns rows of this action."""
        if self.actions is not None and action not in self.actions:
            return False
        return not action.startswith(self.skip) if self.skip else True

    def reset_to_head(self) -> int:
        """Start after the newest row (call before loading a full copy of the data)."""
        with self.db.transaction() as s:
            head = s.scalar(select(func.max(Change.id))) or 0
            seen = set(s.scalars(select(Change.id).where(Change.id > head - _BUILD_WINDOW)))
        self.cursor = head
        now = time.monotonic()
        low = max(1, head - min(_BUILD_WINDOW, self.max_gaps) + 1)
        self._gaps = {i: now for i in range(low, head + 1) if i not in seen}
        return head

    def poll(self) -> FeedBatch:
        """Rows committed since the last `advance`, in id order (at most `batch` of them).

        Nothing moves until `advance(batch)`: a caller that fails to apply the rows gets
        the same rows again from the next poll."""
        now = time.monotonic()
        gaps = {i: t for i, t in self._gaps.items() if now - t < self.gap_ttl}
        keep = self._wanted()
        if keep is not None and not gaps:
            quick = self._poll_contiguous(keep)
            if quick is not None:
                return quick
        cond = Change.id > self.cursor
        if gaps:
            cond = or_(cond, *_id_ranges(sorted(gaps)))
        with self.db.transaction() as s:
            rows = s.execute(
                select(
                    Change.id, Change.action, Change.bank_id, Change.content_id, *self._payload()
                )
                .where(cond)
                .order_by(Change.id)
                .limit(self.batch)
            ).all()
        cursor = self.cursor
        out = []
        for row in rows:
            cid = row[0]
            if cid > cursor:
                low = max(cursor + 1, cid - self.max_gaps)
                gaps.update((i, now) for i in range(low, cid))
                cursor = cid
            gaps.pop(cid, None)
            if self.wants(row[1]):
                out.append(_change_row(row))
        if len(gaps) > self.max_gaps:
            for i in sorted(gaps)[: len(gaps) - self.max_gaps]:
                del gaps[i]
        return FeedBatch(out, cursor, gaps, len(rows))

    def _poll_contiguous(self, keep: ColumnElement[bool]) -> FeedBatch | None:
        """The poll of a narrowed feed with no gaps to watch, when the ids above the cursor
        leave none either (always on SQLite, whose writers take turns; usual on
        PostgreSQL): count them in the database, then fetch only the wanted rows, so rows
        this feed skips (a log that is mostly match records) cost nothing in Python.
        None when the ids are not contiguous: the caller scans them one by one."""
        ids = (
            select(Change.id)
            .where(Change.id > self.cursor)
            .order_by(Change.id)
            .limit(self.batch)
            .subquery()
        )
        with self.db.transaction() as s:
            n, top = s.execute(select(func.count(), func.max(ids.c.id))).one()
            if not n:
                return FeedBatch([], self.cursor, {}, 0)
            if top - self.cursor != n:
                return None
            # every id up to `top` has committed, so this later statement sees the same set
            rows = s.execute(
                select(Change.id, Change.action, Change.bank_id, Change.content_id, *_PAYLOAD)
                .where(Change.id > self.cursor, Change.id <= top, keep)
                .order_by(Change.id)
            ).all()
        return FeedBatch([_change_row(row) for row in rows], top, {}, n)

    def _wanted(self) -> ColumnElement[bool] | None:
        """The SQL condition for the rows this feed wants; None when it wants all."""
        wanted: list[ColumnElement[bool]] = []
        if self.actions is not None:
            wanted.append(Change.action.in_(sorted(self.actions)))
        wanted.extend(not_(Change.action.startswith(p, autoescape=True)) for p in self.skip)
        return and_(*wanted) if wanted else None

    def _payload(self) -> list[Any]:
        """The columns beyond id and action; NULL for rows this feed does not want, so
        the database sends (and the driver decodes) nothing for them."""
        keep = self._wanted()
        if keep is None:
            return list(_PAYLOAD)
        return [case((keep, c), else_=null()).label(c.key) for c in _PAYLOAD]

    def advance(self, batch: FeedBatch) -> None:
        """Mark a polled batch as applied."""
        self.cursor = batch.cursor
        self._gaps = batch.gaps


@dataclass(frozen=True)
class FeedBatch:
    """What one poll found: the wanted `rows`, and the position to `advance` to.

    `scanned` counts every row read, wanted or not: a caller that loops until the feed is
    drained compares it (not `len(rows)`) with the feed's `batch`."""

    rows: list[ChangeRow]
    cursor: int
    gaps: dict[int, float]
    scanned: int = 0

    def __post_init__(self) -> None:
        if self.scanned < len(self.rows):
            object.__setattr__(self, "scanned", len(self.rows))


def _change_row(row: Any) -> ChangeRow:
    """A `ChangeRow` from a selected (id, action, bank, content, *_PAYLOAD) row."""
    cid, action, bank_id, content_id, detail, at, actor, bank_name = row
    return ChangeRow(cid, action, bank_id, content_id, dict(detail or {}), at, actor, bank_name)


def _id_ranges(ids: list[int]) -> list[Any]:
    """Conditions matching exactly these ids (sorted): runs of three or more consecutive
    ids as one BETWEEN, the rest in one IN list."""
    conds: list[Any] = []
    single: list[int] = []
    start = prev = ids[0]
    for i in [*ids[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        if prev - start >= 2:
            conds.append(Change.id.between(start, prev))
        else:
            single.extend(range(start, prev + 1))
        if i is not None:
            start = prev = i
    if single:
        conds.append(Change.id.in_(single))
    return conds
