"""Delivery: signed as documented, tried again with backoff, failed after the last attempt
with what went wrong in words, and replayed from the CLI."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from datetime import timedelta

from safeguard.outbox import NewEndpoint, WebhookService, Worker, enqueue
from safeguard.store import Database
from tests.conftest import Cli
from tests.outbox.conftest import SECRET, Clock, audit_actions
from tests.outbox.receiver import Receiver


def _enqueue(db: Database, key: str, topic: str = "verdict", **payload: object) -> list[int]:
    with db.write_transaction() as s:
        return enqueue(s, topic, dict(payload), key)


def test_a_delivery_is_signed_and_the_platform_can_check_it(
    db: Database, webhooks: WebhookService, platform: NewEndpoint, receiver: Receiver
) -> None:
    (job_id,) = _enqueue(db, "verdict:7", event_id=7, verdict="hold")
    worker = Worker(db)
    assert worker.run_once() == 1
    worker.close()
    (r,) = receiver.received
    # what a platform does: recompute the HMAC over "<timestamp>.<body>" with its secret
    timestamp = r.headers["x-safeguard-timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + r.body, hashlib.sha256)
    assert hmac.compare_digest(r.headers["x-safeguard-signature"], "sha256=" + expected.hexdigest())
    assert abs(int(timestamp) - time.time()) < 60
    forged = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + r.body + b" ", hashlib.sha256)
    assert r.headers["x-safeguard-signature"] != "sha256=" + forged.hexdigest()

    assert r.headers["idempotency-key"] == "verdict:7:platform"
    assert r.headers["x-safeguard-topic"] == "verdict"
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["id"] == job_id and body["topic"] == "verdict"
    assert body["idempotency_key"] == "verdict:7:platform"
    assert body["payload"] == {"event_id": 7, "verdict": "hold"}
    assert body["created_at"].startswith(str(webhooks.job(job_id).created_at.date()))
    assert receiver.actions == ["verdict:7:platform"]
    assert webhooks.job(job_id).state == "delivered"
    assert webhooks.stats()["delivered"] == 1


def test_failures_are_tried_again_later_with_growing_waits(
    db: Database,
    webhooks: WebhookService,
    platform: NewEndpoint,
    receiver: Receiver,
    clock: Clock,
) -> None:
    receiver.then(500, 503)
    (job_id,) = _enqueue(db, "decision:1:1", topic="decision", case_id=1)
    worker = Worker(db, clock=clock, retry_base=30)
    assert worker.run_once() == 1
    first = webhooks.job(job_id)
    assert (first.state, first.attempts, first.last_error) == ("pending", 1, "HTTP 500")
    wait = first.next_attempt_at - clock.now
    assert timedelta(seconds=15) <= wait <= timedelta(seconds=30)
    assert worker.run_once() == 0, "not due yet"

    clock.advance(31)
    assert worker.run_once() == 1
    second = webhooks.job(job_id)
    assert (second.attempts, second.last_error) == (2, "HTTP 503")
    assert timedelta(seconds=30) <= second.next_attempt_at - clock.now <= timedelta(seconds=60)

    clock.advance(61)
    assert worker.run_once() == 1
    worker.close()
    done = webhooks.job(job_id)
    assert (done.state, done.attempts, done.delivered_at) == ("delivered", 3, clock.now)
    assert [r.key for r in receiver.received] == ["decision:1:1:platform"] * 3
    assert worker.counts == {"retry": 2, "delivered": 1}


def test_the_last_failed_attempt_shows_in_webhooks_failed_and_replay_delivers(
    cli: Cli, db_url: str, receiver: Receiver
) -> None:
    assert cli("webhooks", "add", "platform", receiver.url, "--secret", SECRET).exit_code == 0
    db = Database.open(db_url)
    try:
        (job_id,) = _enqueue(db, "verdict:9", event_id=9)
        receiver.then(500, 500, 500)
        # no wait between attempts: all three happen now
        worker = Worker(db, max_attempts=3, retry_base=0)
        assert worker.run_once() == 3
        worker.close()
        (failed,) = cli.json("webhooks", "failed")
        assert failed["id"] == job_id and failed["endpoint"] == "platform"
        assert (failed["topic"], failed["attempts"]) == ("verdict", 3)
        assert failed["last_error"] == "HTTP 500" and failed["created_at"]
        text = cli("webhooks", "failed")
        assert "HTTP 500" in text.stdout and str(job_id) in text.stdout

        replayed = cli("webhooks", "replay", job_id)
        assert replayed.exit_code == 0 and f"replaying 1 job(s): {job_id}" in replayed.stdout
        (pending,) = cli.json("webhooks", "pending")
        assert (pending["id"], pending["state"], pending["attempts"]) == (job_id, "pending", 0)

        run = cli("worker", "--once")
        assert run.exit_code == 0, run.output
        assert f"delivered job {job_id} (verdict) to platform: HTTP 200" in run.stderr
        assert cli.json("webhooks", "failed") == []
        assert cli.json("webhooks", "stats")["delivered"] == 1
        assert len(receiver.received) == 4 and receiver.actions == ["verdict:9:platform"]
        assert audit_actions(db) == ["webhook.add", "webhook.replay"]
    finally:
        db.close()


def test_what_went_wrong_is_said_in_words(
    db: Database, webhooks: WebhookService, receiver: Receiver
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    webhooks.add("refused", closed)
    webhooks.add("slow", f"{receiver.url}/hang")
    webhooks.add("garbage", f"{receiver.url}/garbage")
    webhooks.add("gone", f"{receiver.url}/status/410")
    webhooks.add("redirect", f"{receiver.url}/status/302")
    webhooks.add("broken", f"{receiver.url}/status/500")
    _enqueue(db, "verdict:1", event_id=1)
    worker = Worker(db, http_timeout=0.3, lease=1, max_attempts=2)
    assert worker.run_once() == 6
    worker.close()
    jobs = {j.endpoint: j for j in webhooks.jobs()}
    assert jobs["refused"].last_error == "connection refused"
    assert jobs["slow"].last_error == "timed out after 0.3 s"
    assert jobs["garbage"].last_error.startswith("invalid HTTP response")
    assert jobs["redirect"].last_error == "HTTP 302 (redirects are not followed)"
    assert jobs["broken"].last_error == "HTTP 500"
    for name in ("refused", "slow", "garbage", "redirect", "broken"):
        assert (jobs[name].state, jobs[name].attempts) == ("pending", 1), name
    # 410 Gone: no later attempt could succeed, so it fails at once
    gone = jobs["gone"]
    assert (gone.state, gone.attempts) == ("failed", 1)
    assert gone.last_error == "HTTP 410: the endpoint says it is gone"
    assert json.loads(receiver.received[0].body)["payload"] == {"event_id": 1}
