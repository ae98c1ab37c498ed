"""Fixtures of the outbox tests: the store, a receiving platform, a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from safeguard.access.people import Actor
from safeguard.outbox import NewEndpoint, WebhookService
from safeguard.store import Database
from safeguard.store.audit_tables import AuditEntry
from safeguard.store.models import utcnow
from tests.outbox.receiver import Receiver

SECRET = "test-secret-0123456789abcdef"
ADMIN = Actor.operator("cli:test")


class Clock:
    """A clock that stands still until the test moves it; it starts a second ahead, so what
    the test enqueues (at the real time) is due."""

    def __init__(self) -> None:
        self.now = utcnow() + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.open(db_url)
    yield database
    database.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def webhooks(db: Database) -> WebhookService:
    return WebhookService(db, ADMIN)


@pytest.fixture
def platform(webhooks: WebhookService, receiver: Receiver) -> NewEndpoint:
    """The platform's endpoint, for every topic, with a known secret."""
    return webhooks.add("platform", receiver.url, secret=SECRET)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def audit_actions(db: Database) -> list[str]:
    with db.transaction() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
