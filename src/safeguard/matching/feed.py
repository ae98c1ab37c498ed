"""`ChangeFeed`: every committed change-log row, each read once, whatever order it commits in.

Change-log ids come from a sequence, but on PostgreSQL a transaction can take an id and commit
after another transaction that took a later one. The feed therefore keeps a cursor (the
highest id read) and a list of the ids below it that it has not seen yet ("gaps"); each poll
asks for rows above the cursor or in the gaps. A gap that stays empty for `gap_ttl` seconds
was a rolled-back transaction and is forgotten.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from safeguard.store import Change, Database

#: how far below the head a build looks for ids still in flight
_BUILD_WINDOW = 10_000


@dataclass(frozen=True)
class ChangeRow:
    id: int
    action: str
    bank_id: int | None
    content_id: int | None
    detail: dict[str, object] = field(default_factory=dict)


class ChangeFeed:
    def __init__(
        self, db: Database, *, gap_ttl: float = 300.0, max_gaps: int = 1000, batch: int = 5000
    ) -> None:
        self.db = db
        self.gap_ttl = gap_ttl
        self.max_gaps = max_gaps
        self.batch = batch
        self.cursor = 0
        self._gaps: dict[int, float] = {}

    @property
    def gaps(self) -> list[int]:
        return sorted(self._gaps)

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
        cond = Change.id > self.cursor
        if gaps:
            cond = or_(cond, Change.id.in_(sorted(gaps)))
        with self.db.transaction() as s:
            rows = s.execute(
                select(Change.id, Change.action, Change.bank_id, Change.content_id, Change.detail)
                .where(cond)
                .order_by(Change.id)
                .limit(self.batch)
            ).all()
        cursor = self.cursor
        out = []
        for cid, action, bank_id, content_id, detail in rows:
            if cid > cursor:
                low = max(cursor + 1, cid - self.max_gaps)
                gaps.update((i, now) for i in range(low, cid))
                cursor = cid
            gaps.pop(cid, None)
            out.append(ChangeRow(cid, action, bank_id, content_id, dict(detail or {})))
        if len(gaps) > self.max_gaps:
            for i in sorted(gaps)[: len(gaps) - self.max_gaps]:
                del gaps[i]
        return FeedBatch(out, cursor, gaps)

    def advance(self, batch: FeedBatch) -> None:
        """Mark a polled batch as applied."""
        self.cursor = batch.cursor
        self._gaps = batch.gaps


@dataclass(frozen=True)
class FeedBatch:
    rows: list[ChangeRow]
    cursor: int
    gaps: dict[int, float]
