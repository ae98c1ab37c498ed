"""A worker's short transactions on the outbox: claiming due jobs, and recording how a
delivery went.

Claiming marks a job `delivering`, locked by the worker until `now + lease`; the HTTP call
then happens outside any transaction, and `finish` records the outcome only if the job is
still locked by the same worker. On PostgreSQL several workers share the queue with
`SELECT ... FOR UPDATE SKIP LOCKED`, so none waits for, or takes, a job another is claiming;
on SQLite claims run one after another under the write lock (BEGIN IMMEDIATE).

A job left `delivering` past its lease (its worker died, or lost the database) is due
again and is sent again with the same idempotency key, so the receiver can recognise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select

from safeguard.store import Database
from safeguard.store.outbox_tables import OutboxJob, WebhookEndpoint


@dataclass(frozen=True)
class Claim:
    """A job a worker holds, with what it needs to deliver it."""

    id: int
    topic: str
    endpoint: str
    url: str
    secret: str
    idempotency_key: str
    created_at: datetime
    payload: dict[str, object]
    attempt: int  # this attempt's number, from 1


def _due(now: datetime) -> ColumnElement[bool]:
    waiting = and_(OutboxJob.state == "pending", OutboxJob.next_attempt_at <= now)
    abandoned = and_(OutboxJob.state == "delivering", OutboxJob.locked_until <= now)
    return or_(waiting, abandoned)


def claim_due(
    db: Database, worker: str, now: datetime, *, lease: float, max_attempts: int, limit: int = 1
) -> list[Claim]:
    """Claim up to `limit` due jobs of enabled endpoints, oldest first. A job abandoned by a
    dead worker after its last allowed attempt is marked failed instead."""
    with db.write_transaction() as s:
        enabled = select(WebhookEndpoint.name).where(WebhookEndpoint.enabled.is_(True))
        q = (
            select(OutboxJob)
            .where(_due(now), OutboxJob.endpoint.in_(enabled))
            .order_by(OutboxJob.next_attempt_at, OutboxJob.id)
            .limit(limit)
        )
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=OutboxJob)
        jobs = list(s.scalars(q))
        if not jobs:
            return []
        names = {j.endpoint for j in jobs}
        rows = s.scalars(select(WebhookEndpoint).where(WebhookEndpoint.name.in_(names)))
        endpoints = {e.name: e for e in rows}
        claims = []
        for job in jobs:
            e = endpoints.get(job.endpoint or "")
            if e is None:  # removed since the first query (PostgreSQL: read committed)
                _fail(job, f"endpoint {job.endpoint!r} was removed")
                continue
            if job.state == "delivering":
                died = f"worker {job.locked_by} stopped during attempt {job.attempts}"
                if job.attempts >= max_attempts:
                    _fail(job, f"{died} (lease expired), its last allowed attempt")
                    continue
                job.last_error = f"{died} (lease expired); sending again"
            job.state = "delivering"
            job.locked_by = worker
            job.locked_until = now + timedelta(seconds=lease)
            job.attempts += 1
            claims.append(
                Claim(
                    id=job.id,
                    topic=job.topic,
                    endpoint=e.name,
                    url=e.url,
                    secret=e.secret,
                    idempotency_key=job.idempotency_key,
                    created_at=job.created_at,
                    payload=dict(job.payload or {}),
                    attempt=job.attempts,
                )
            )
        return claims


def finish(
    db: Database,
    claim: Claim,
    worker: str,
    *,
    delivered_at: datetime | None = None,
    error: str = "",
    retry_at: datetime | None = None,
) -> bool:
    """Record a delivery's outcome: delivered (`delivered_at`), to be tried again at
    `retry_at`, or failed for good (neither). False when the job is no longer this worker's
    (its lease ran out and another worker took it): nothing is changed then."""
    with db.write_transaction() as s:
        job = s.get(OutboxJob, claim.id, with_for_update=True)
        if job is None or job.state != "delivering" or job.locked_by != worker:
            return False
        job.locked_by = None
        job.locked_until = None
        if delivered_at is not None:
            job.state = "delivered"
            job.delivered_at = delivered_at
        elif retry_at is not None:
            job.state = "pending"
            job.next_attempt_at = retry_at
            job.last_error = error
        else:
            _fail(job, error)
        return True


def _fail(job: OutboxJob, error: str) -> None:
    job.state = "failed"
    job.locked_by = None
    job.locked_until = None
    job.last_error = error
