"""`Subscription`: a named consumer of the change feed whose position survives restarts.

Each subscription keeps its own cursor (and the ids below it not seen yet) in the
`feed_cursors` table, so any number of consumers read the same change log independently:

    sub = Subscription(db, "rules", actions=["match.recorded"])
    while True:
        batch = sub.poll(500)
        handle(batch.rows)
        sub.ack(batch)          # or sub.ack(batch, session=s) inside your own transaction

`poll` returns the rows committed after the last `ack`, in id order, each once, whatever
order their transactions committed in (`ChangeFeed` does the gap handling). Nothing moves
until `ack`: a consumer that stops before acknowledging gets the same rows again. Passing
the session of the transaction that stores what the consumer made of the rows saves the
cursor in that same transaction, so a crash never loses or repeats a row. One process at a
time should consume a given name.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Literal

from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.errors import InvalidRequest
from safeguard.matching.feed import ChangeFeed, FeedBatch
from safeguard.store import Database
from safeguard.store.event_tables import FeedCursor
from safeguard.store.models import utcnow

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}\Z")


class Subscription:
    """A durable, named reader of the change log (see the module docstring).

    `actions` limits the rows returned to those action names (None: every row); the others
    still move the cursor. A new subscription starts at the `start` of the log: `"oldest"`
    (every row ever written) or `"newest"` (only rows written from now on); an existing one
    continues where it was acknowledged."""

    def __init__(
        self,
        db: Database,
        name: str,
        actions: Collection[str] | None = None,
        *,
        start: Literal["oldest", "newest"] = "oldest",
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidRequest(
                f"a subscription name is 1-100 letters, digits, '.', '_', ':' or '-', "
                f"starting with a letter or digit; got {name!r}"
            )
        if start not in ("oldest", "newest"):
            raise InvalidRequest(f"start must be 'oldest' or 'newest', got {start!r}")
        self.db = db
        self.name = name
        self._feed = ChangeFeed(db, actions=actions)
        cursor, gaps = self._load_or_create(start)
        self._feed.resume(cursor, gaps)

    @property
    def cursor(self) -> int:
        """The highest change-log id acknowledged (gaps below it aside)."""
        return self._feed.cursor

    @property
    def gaps(self) -> list[int]:
        return self._feed.gaps

    def poll(self, limit: int = 1000) -> FeedBatch:
        """The next rows after the acknowledged position, at most `limit` scanned.

        Fewer than `limit` rows with `batch.scanned < limit` means the log is drained."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidRequest(f"limit must be a positive whole number, got {limit!r}")
        self._feed.batch = limit
        return self._feed.poll()

    def ack(self, batch: FeedBatch, session: Session | None = None) -> None:
        """Save the position after `batch`; in `session`'s transaction if one is given (this
        subscription then moves on when that transaction commits, and not if it rolls
        back)."""
        gaps = sorted(batch.gaps)
        values = {"cursor": batch.cursor, "gaps": gaps, "updated_at": utcnow()}
        stmt = update(FeedCursor).where(FeedCursor.name == self.name).values(**values)
        if session is not None:
            session.execute(stmt)
            # move on here only if that transaction commits; rolled back, the rows come again
            event.listen(session, "after_commit", lambda _s: self._feed.advance(batch), once=True)
            return
        with self.db.transaction() as s:
            s.execute(stmt)
        self._feed.advance(batch)

    def _load_or_create(self, start: str) -> tuple[int, list[int]]:
        with self.db.transaction() as s:
            row = s.get(FeedCursor, self.name)
            if row is not None:
                return row.cursor, list(row.gaps or [])
        if start == "newest":
            probe = ChangeFeed(self.db)
            probe.reset_to_head()
            cursor, gaps = probe.state()
        else:
            cursor, gaps = 0, []
        try:
            with self.db.transaction() as s:
                s.add(FeedCursor(name=self.name, cursor=cursor, gaps=gaps, updated_at=utcnow()))
        except IntegrityError:  # created at the same moment by another process
            with self.db.transaction() as s:
                row = s.get(FeedCursor, self.name)
                assert row is not None
                return row.cursor, list(row.gaps or [])
        return cursor, gaps
