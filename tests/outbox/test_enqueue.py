"""`enqueue` writes in the caller's transaction: a rollback leaves no job, a commit one per
subscribed endpoint, the same key twice one; and it never waits for an endpoint."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from safeguard.errors import InvalidRequest
from safeguard.outbox import NewEndpoint, WebhookService, Worker, enqueue, outbox_stats
from safeguard.store import Database
from tests.outbox.receiver import Receiver


class Rollback(Exception):
    pass


def test_a_job_exists_exactly_when_the_callers_transaction_commits(
    db: Database, webhooks: WebhookService, platform: NewEndpoint
) -> None:
    with pytest.raises(Rollback), db.write_transaction() as s:
        assert enqueue(s, "verdict", {"event_id": 1}, "verdict:1")
        raise Rollback
    assert webhooks.jobs() == []

    with db.write_transaction() as s:
        ids = enqueue(s, "verdict", {"event_id": 1}, "verdict:1")
    (job,) = webhooks.pending()
    assert ids == [job.id]
    assert (job.idempotency_key, job.state, job.attempts) == ("verdict:1:platform", "pending", 0)
    stats = outbox_stats(db, now=job.created_at + timedelta(seconds=90))
    assert (stats["pending"], stats["delivered"], stats["oldest_pending_age_s"]) == (1, 0, 90.0)

    # the same key again: no second job, no error, the same id
    with db.write_transaction() as s:
        assert enqueue(s, "verdict", {"event_id": 1}, "verdict:1") == ids
    assert [j.id for j in webhooks.jobs()] == ids


def test_only_enabled_endpoints_subscribed_to_the_topic_get_a_job(
    db: Database, webhooks: WebhookService, receiver: Receiver
) -> None:
    with db.write_transaction() as s:
        assert enqueue(s, "verdict", {}, "before-any-endpoint") == []
    webhooks.add("all", receiver.url)
    webhooks.add("decisions", receiver.url, topics=["decision"])
    webhooks.add("paused", receiver.url)
    webhooks.set_enabled("paused", False)
    with db.write_transaction() as s:
        enqueue(s, "verdict", {"n": 1}, "v1")
        enqueue(s, "decision", {"n": 2}, "d1")
    keys = sorted(j.idempotency_key for j in webhooks.pending())
    assert keys == ["d1:all", "d1:decisions", "v1:all"]

    unknown = pytest.raises(InvalidRequest, match="unknown webhook topic 'verdicts'")
    with unknown, db.write_transaction() as s:
        enqueue(s, "verdicts", {}, "x")
    with pytest.raises(InvalidRequest, match="1 to 190 characters"), db.write_transaction() as s:
        enqueue(s, "verdict", {}, "k" * 191)


def test_a_hanging_endpoint_never_delays_enqueue(
    db: Database, webhooks: WebhookService, platform: NewEndpoint, receiver: Receiver
) -> None:
    receiver.then("hang")
    with db.write_transaction() as s:
        enqueue(s, "verdict", {"event_id": 1}, "verdict:1")
    worker = Worker(db, http_timeout=10, lease=30)
    delivering = threading.Thread(target=worker.run_once)
    delivering.start()
    try:
        assert receiver.got_request.wait(20), "the worker is holding a request open"
        started = time.perf_counter()
        with db.write_transaction() as s:
            enqueue(s, "verdict", {"event_id": 2}, "verdict:2")
        took = time.perf_counter() - started
        # held up by the delivery it would wait the worker's 10 s timeout; a loaded machine
        # alone has taken 0.8 s
        assert took < 5, f"enqueue took {took:.3f} s while an endpoint hung"
    finally:
        receiver.release.set()
        delivering.join(20)
    # the worker went on to the second job once the first was answered
    assert [j.state for j in webhooks.jobs()] == ["delivered", "delivered"]
    worker.close()
