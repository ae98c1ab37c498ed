"""Putting messages on the outbox, in the caller's transaction, and counting what is there.

`enqueue` is called on the verdict and decision paths inside the same transaction that
writes the verdict or decision: the message exists exactly when what it reports does, and a
crash in between loses nothing. It only inserts rows (one per enabled endpoint subscribed to
the topic); delivery is always left to `safeguard worker`, so an endpoint that is down or
slow never delays a verdict.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safeguard.errors import InvalidRequest
from safeguard.store import Database
from safeguard.store.driver import connection_of
from safeguard.store.models import utcnow
from safeguard.store.outbox_tables import OutboxJob, WebhookEndpoint

#: what the platform can subscribe to: a verdict on an event (or its change), a moderator's
#: decision on a case, and a bank entry paused by the flood quarantine
TOPICS = ("verdict", "decision", "quarantine")
#: the states of a job, in the order it goes through them
STATES = ("pending", "delivering", "delivered", "failed")
#: the longest key a caller may give (the endpoint's name is appended to it)
KEY_LIMIT = 190

# built once: enqueue runs on every verdict
_ENABLED = select(WebhookEndpoint.name, WebhookEndpoint.topics).where(
    WebhookEndpoint.enabled.is_(True)
)


#: enabled endpoints and their topics per database, read at most once a second (enqueue is on
#: every verdict; an endpoint added elsewhere gets messages within that second; changes made
#: in this process clear it at once: `forget_endpoints`)
_ENDPOINTS: dict[str, tuple[float, list[tuple[str, list[str]]]]] = {}
ENDPOINTS_MAX_AGE = 1.0


def forget_endpoints() -> None:
    _ENDPOINTS.clear()


def _endpoints(session: Connection | Session) -> list[tuple[str, list[str]]]:
    where = str(connection_of(session).engine.url)
    hit = _ENDPOINTS.get(where)
    if hit is not None and time.monotonic() - hit[0] < ENDPOINTS_MAX_AGE:
        return hit[1]
    rows = [(name, list(topics or ())) for name, topics in session.execute(_ENABLED)]
    _ENDPOINTS[where] = (time.monotonic(), rows)
    return rows


def check_topic(topic: str) -> str:
    if topic not in TOPICS:
        raise InvalidRequest(f"unknown webhook topic {topic!r}: use {', '.join(TOPICS)}")
    return topic


def enqueue(
    session: Connection | Session, topic: str, payload: dict[str, object], key: str
) -> list[int]:
    """Add one job per enabled endpoint subscribed to `topic`, in `session`'s transaction,
    and return their ids. The job for an endpoint has the idempotency key
    `"<key>:<endpoint name>"`; a key already enqueued is left as it is (no error) and its
    job's id is returned again. With no endpoint subscribed, nothing is written."""
    check_topic(topic)
    if not key or len(key) > KEY_LIMIT:
        raise InvalidRequest(f"an outbox key needs 1 to {KEY_LIMIT} characters, not {len(key)}")
    names = [name for name, topics in _endpoints(session) if topic in topics]
    if not names:
        return []
    now = utcnow()
    rows = [
        {
            "topic": topic,
            "endpoint": name,
            "payload": payload,
            "idempotency_key": f"{key}:{name}",
            "state": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
            "last_error": "",
        }
        for name in names
    ]
    dialect = postgresql if connection_of(session).engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(OutboxJob).values(rows)
    added = insert.on_conflict_do_nothing(index_elements=["idempotency_key"])
    ids = list(session.scalars(added.returning(OutboxJob.id)))
    if len(ids) < len(rows):  # some were enqueued before: return theirs too
        keys = [r["idempotency_key"] for r in rows]
        q = select(OutboxJob.id).where(OutboxJob.idempotency_key.in_(keys))
        ids = list(session.scalars(q.order_by(OutboxJob.id)))
    return sorted(ids)


def outbox_stats(db: Database, now: datetime | None = None) -> dict[str, float]:
    """Jobs by state, and how long the oldest undelivered one (pending or being delivered)
    has waited, in seconds (0 when none): for /metrics and `safeguard webhooks stats`."""
    now = now or utcnow()
    with db.transaction() as s:
        counts = dict(
            s.execute(select(OutboxJob.state, func.count()).group_by(OutboxJob.state)).all()
        )
        oldest = s.scalar(
            select(func.min(OutboxJob.created_at)).where(
                OutboxJob.state.in_(("pending", "delivering"))
            )
        )
    stats: dict[str, float] = {state: int(counts.get(state, 0)) for state in STATES}
    stats["oldest_pending_age_s"] = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return stats
