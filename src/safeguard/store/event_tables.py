"""Tables of the event feed (issue #14): where each durable subscriber has got to.

`feed_cursors` holds one row per named subscription (safeguard.events.subscriptions): the
highest change-log id it has acknowledged and the ids below that it has not seen yet
(transactions that had taken an id but not committed when it read past them). Created by
migration 0007.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, UTCDateTime, utcnow


class FeedCursor(Base):
    """A subscription's saved position in the change log."""

    __tablename__ = "feed_cursors"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    gaps: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
