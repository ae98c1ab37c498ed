"""Webhook endpoints and their deliveries, as admins manage them (`safeguard webhooks`).

An endpoint is where the platform wants to be told (a URL), which topics it wants, and the
secret its messages are signed with; the secret is generated unless given, shown once, and
never listed. Only admins add, remove, disable or list endpoints and see or replay
deliveries; each change is audited ("webhook.add", "webhook.remove", "webhook.disable",
"webhook.enable", "webhook.replay"). Removing an endpoint fails its undelivered jobs, so
they show in `webhooks failed` and can be replayed once it is added again; a disabled
endpoint gets no new jobs and its pending ones wait until it is enabled.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.errors import AlreadyExists, InvalidRequest, NotFound
from safeguard.outbox.queue import STATES, TOPICS, check_topic, forget_endpoints, outbox_stats
from safeguard.store import Database
from safeguard.store.models import utcnow
from safeguard.store.outbox_tables import OutboxJob, WebhookEndpoint

ENDPOINT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
#: the shortest secret accepted (a generated one has 43 characters, 256 bits)
MIN_SECRET = 16
MAX_URL = 2000
#: the most jobs one listing shows
LIST_LIMIT = 1000


@dataclass(frozen=True)
class EndpointInfo:
    name: str
    url: str
    topics: tuple[str, ...]
    enabled: bool
    created_at: datetime
    created_by: str

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "url": self.url,
            "topics": list(self.topics),
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }


@dataclass(frozen=True)
class NewEndpoint:
    """An endpoint just added, with its secret: the only time the secret is handed out."""

    info: EndpointInfo
    secret: str
    generated: bool


@dataclass(frozen=True)
class JobInfo:
    id: int
    endpoint: str
    topic: str
    state: str
    attempts: int
    last_error: str
    idempotency_key: str
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    locked_by: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "topic": self.topic,
            "state": self.state,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "idempotency_key": self.idempotency_key,
            "created_at": self.created_at.isoformat(),
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "locked_by": self.locked_by,
        }


F = TypeVar("F", bound=Callable[..., Any])


def _forgets_endpoints(method: F) -> F:
    """After a change to endpoints, `enqueue` in this process reads them again at once."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        finally:
            forget_endpoints()

    return wrapper  # type: ignore[return-value]


class WebhookService:
    """Endpoints, and the deliveries that failed or wait. Admins only; changes audited."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    # -- endpoints -----------------------------------------------------------------------

    @_forgets_endpoints
    def add(
        self,
        name: str,
        url: str,
        *,
        topics: Iterable[str] | None = None,
        secret: str | None = None,
    ) -> NewEndpoint:
        """Add an endpoint for `topics` (default: all). With no `secret` one is generated."""
        self.actor.require_admin("manage webhooks")
        _check_name(name)
        _check_url(url)
        chosen = _check_topics(topics)
        generated = secret is None
        if secret is None:
            secret = secrets.token_urlsafe(32)
        elif len(secret) < MIN_SECRET or len(secret) > 200 or not secret.isprintable():
            raise InvalidRequest(
                f"a webhook secret needs {MIN_SECRET} to 200 printable characters "
                "(leave it out to have one generated)"
            )
        try:
            with self.db.write_transaction() as s:
                if s.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.name == name)):
                    raise _exists(name)
                row = WebhookEndpoint(
                    name=name,
                    url=url,
                    secret=secret,
                    topics=list(chosen),
                    enabled=True,
                    created_at=utcnow(),
                    created_by=self.actor.name,
                )
                s.add(row)
                s.flush()
                audit(s, self.actor.name, "webhook.add", f"webhook:{name}", url=url, topics=chosen)
                return NewEndpoint(_endpoint(row), secret, generated)
        except IntegrityError:
            raise _exists(name) from None

    @_forgets_endpoints
    def remove(self, name: str) -> EndpointInfo:
        """Remove an endpoint; its jobs not yet delivered become failed (replayable after
        it is added again)."""
        self.actor.require_admin("manage webhooks")
        with self.db.write_transaction() as s:
            row = _endpoint_row(s, name)
            info = _endpoint(row)
            q = select(OutboxJob).where(
                OutboxJob.endpoint == name, OutboxJob.state.in_(("pending", "delivering"))
            )
            undelivered = list(s.scalars(q.with_for_update()))
            for job in undelivered:
                job.state = "failed"
                job.locked_by = None
                job.locked_until = None
                job.last_error = f"endpoint {name!r} was removed"
            s.delete(row)
            audit(
                s,
                self.actor.name,
                "webhook.remove",
                f"webhook:{name}",
                url=info.url,
                failed_jobs=len(undelivered),
            )
            return info

    @_forgets_endpoints
    def set_enabled(self, name: str, enabled: bool) -> EndpointInfo:
        """Disable an endpoint (no new jobs; pending ones wait) or enable it again."""
        self.actor.require_admin("manage webhooks")
        with self.db.write_transaction() as s:
            row = _endpoint_row(s, name)
            if row.enabled != enabled:
                row.enabled = enabled
                action = "webhook.enable" if enabled else "webhook.disable"
                audit(s, self.actor.name, action, f"webhook:{name}")
            return _endpoint(row)

    # -- deliveries ----------------------------------------------------------------------

    def failed(self, limit: int = LIST_LIMIT) -> list[JobInfo]:
        """Jobs that failed for good, oldest first."""
        return self.jobs(("failed",), limit)

    def pending(self, limit: int = LIST_LIMIT) -> list[JobInfo]:
        """Jobs waiting for delivery or being delivered, oldest first."""
        return self.jobs(("pending", "delivering"), limit)

    def jobs(self, states: Sequence[str] = STATES, limit: int = LIST_LIMIT) -> list[JobInfo]:
        """Jobs in any of `states`, oldest first."""
        self.actor.require_admin("see webhook deliveries")
        with self.db.transaction() as s:
            q = select(OutboxJob).where(OutboxJob.state.in_(states)).order_by(OutboxJob.id)
            return [_job(j) for j in s.scalars(q.limit(max(1, min(limit, LIST_LIMIT))))]

    def job(self, job_id: int) -> JobInfo:
        """One job, whatever its state."""
        self.actor.require_admin("see webhook deliveries")
        with self.db.transaction() as s:
            row = s.get(OutboxJob, job_id)
            if row is None:
                raise _no_job(job_id)
            return _job(row)

    def stats(self) -> dict[str, float]:
        """Jobs by state and the oldest undelivered one's age (`outbox_stats`)."""
        self.actor.require_admin("see webhook deliveries")
        return outbox_stats(self.db)

    def replay(self, job_id: int | None = None, *, all_failed: bool = False) -> list[JobInfo]:
        """Send failed jobs again: one by id, or every failed job whose endpoint still
        exists. Each goes back to pending with no attempts made; audited."""
        self.actor.require_admin("replay webhooks")
        if (job_id is None) == (not all_failed):
            raise InvalidRequest("name one failed job to replay, or all failed jobs (not both)")
        with self.db.write_transaction() as s:
            names = set(s.scalars(select(WebhookEndpoint.name)))
            q = select(OutboxJob).with_for_update()
            if job_id is not None:
                jobs = list(s.scalars(q.where(OutboxJob.id == job_id)))
                if not jobs:
                    raise _no_job(job_id)
                job = jobs[0]
                if job.state != "failed":
                    raise InvalidRequest(
                        f"job {job_id} is {job.state}, not failed: only failed jobs are replayed"
                    )
                if job.endpoint not in names:
                    raise InvalidRequest(
                        f"job {job_id}'s endpoint {job.endpoint!r} no longer exists: "
                        "add it again (`safeguard webhooks add`) before replaying"
                    )
            else:
                q = q.where(OutboxJob.state == "failed", OutboxJob.endpoint.in_(names))
                jobs = list(s.scalars(q.order_by(OutboxJob.id)))
            now = utcnow()
            for job in jobs:
                job.state = "pending"
                job.attempts = 0
                job.next_attempt_at = now
            if jobs:
                ids = [j.id for j in jobs]
                audit(s, self.actor.name, "webhook.replay", "webhooks", jobs=ids)
            return [_job(j) for j in jobs]

    # last: below it, `list` in an annotation would mean this method
    def list(self) -> list[EndpointInfo]:
        """Every endpoint (never its secret)."""
        self.actor.require_admin("list webhooks")
        with self.db.transaction() as s:
            rows = s.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.name))
            return [_endpoint(r) for r in rows]


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not ENDPOINT_NAME.fullmatch(name):
        raise InvalidRequest(
            f"invalid webhook name {name!r}: use 1-100 letters, digits, '_', '-' or '.'"
        )


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        host = parts.hostname if parts is not None else None
    except ValueError:  # malformed brackets, a bad port...
        parts, host = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not host
        or len(url) > MAX_URL
        or any(c.isspace() for c in url)
    ):
        raise InvalidRequest(
            f"invalid webhook URL {url!r}: give an http:// or https:// URL with a host"
        )
    if parts.username or parts.password:
        raise InvalidRequest(
            "a webhook URL must carry no user name or password: messages are signed with "
            "the endpoint's secret instead"
        )


def _check_topics(topics: Iterable[str] | None) -> tuple[str, ...]:
    chosen = {check_topic(t.strip()) for t in topics or () if t.strip()}
    return tuple(t for t in TOPICS if t in chosen) if chosen else TOPICS


def _exists(name: str) -> AlreadyExists:
    return AlreadyExists(f"a webhook named {name!r} already exists")


def _no_job(job_id: int) -> NotFound:
    return NotFound(f"no webhook job {job_id} (see `safeguard webhooks failed`)")


def _endpoint_row(s: Session, name: str) -> WebhookEndpoint:
    row = s.scalar(select(WebhookEndpoint).where(WebhookEndpoint.name == name).with_for_update())
    if row is None:
        raise NotFound(f"no webhook named {name!r} (see `safeguard webhooks list`)")
    return row


def _endpoint(row: WebhookEndpoint) -> EndpointInfo:
    return EndpointInfo(
        name=row.name,
        url=row.url,
        topics=tuple(row.topics or ()),
        enabled=row.enabled,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _job(j: OutboxJob) -> JobInfo:
    return JobInfo(
        id=j.id,
        endpoint=j.endpoint or "",
        topic=j.topic,
        state=j.state,
        attempts=j.attempts,
        last_error=j.last_error,
        idempotency_key=j.idempotency_key,
        created_at=j.created_at,
        next_attempt_at=j.next_attempt_at,
        delivered_at=j.delivered_at,
        locked_by=j.locked_by,
    )
