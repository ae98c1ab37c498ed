"""The worker: workers sharing a queue never send the same job twice, a job whose worker died
after its last attempt is failed, and periodic tasks run on time and survive errors."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest

from safeguard.errors import InvalidRequest
from safeguard.outbox import NewEndpoint, PeriodicTask, WebhookService, Worker, enqueue
from safeguard.outbox.claims import claim_due
from safeguard.store import Database
from tests.outbox.conftest import Clock
from tests.outbox.receiver import Receiver


def test_two_workers_at_once_deliver_every_job_once(
    db: Database, webhooks: WebhookService, platform: NewEndpoint, receiver: Receiver
) -> None:
    with db.write_transaction() as s:
        for n in range(50):
            enqueue(s, "verdict", {"event_id": n}, f"verdict:{n}")
    receiver.delay = 0.01
    workers = [Worker(db, name=f"w{i}") for i in range(2)]
    done: dict[str, int] = {}
    threads = [
        threading.Thread(target=lambda w=w: done.__setitem__(w.name, w.run_once())) for w in workers
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for w in workers:
        w.close()
    keys = Counter(r.key for r in receiver.received)
    assert len(keys) == 50 and set(keys.values()) == {1}, "each job sent exactly once"
    assert sum(done.values()) == 50 and all(done.values()), done
    assert {j.state for j in webhooks.jobs()} == {"delivered"}
    assert webhooks.stats()["delivered"] == 50


def test_a_job_abandoned_after_its_last_attempt_fails(
    db: Database, webhooks: WebhookService, platform: NewEndpoint, clock: Clock
) -> None:
    with db.write_transaction() as s:
        (job_id,) = enqueue(s, "verdict", {}, "verdict:1")
    # a worker claims it for its one allowed attempt, then dies (never finishes)
    (claim,) = claim_due(db, "dead", clock(), lease=60, max_attempts=1)
    assert claim.attempt == 1
    live = Worker(db, clock=clock, max_attempts=1)
    assert live.run_once() == 0, "still leased to the dead worker"
    clock.advance(61)
    assert live.run_once() == 0
    live.close()
    job = webhooks.job(job_id)
    assert job.state == "failed"
    assert job.last_error == (
        "worker dead stopped during attempt 1 (lease expired), its last allowed attempt"
    )


def test_periodic_tasks_run_when_due_and_survive_errors(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    ticks: list[datetime] = []
    daily: list[datetime] = []

    def boom(now: datetime) -> None:
        raise RuntimeError("disk full")

    tasks = [
        PeriodicTask("tick", 0.05, ticks.append),
        PeriodicTask("boom", 0.05, boom),
        PeriodicTask("daily", 86400, daily.append),
    ]
    worker = Worker(db, tasks=tasks, poll=0.02)
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="safeguard.outbox")
    loop = threading.Thread(target=worker.run, args=(stop,))
    loop.start()
    time.sleep(0.5)
    stop.set()
    loop.join(5)
    assert not loop.is_alive(), "the loop stops when told"
    # "daily" ran once, at the start; "tick" every 0.05 s
    assert len(daily) == 1 and 3 <= len(ticks) <= 11, len(ticks)
    assert all(b - a >= timedelta(seconds=0.05) for a, b in zip(ticks, ticks[1:], strict=False))
    failures = [r.getMessage() for r in caplog.records if "task boom failed" in r.getMessage()]
    assert len(failures) >= 3 and failures[0] == "task boom failed: RuntimeError: disk full"

    with pytest.raises(InvalidRequest, match="period above 0"):
        PeriodicTask("never", 0, ticks.append)
    with pytest.raises(InvalidRequest, match="more than twice the HTTP timeout"):
        Worker(db, lease=10, http_timeout=10)
