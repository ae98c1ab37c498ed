"""`safeguard worker` as real processes: one killed with SIGKILL in the middle of a delivery
loses nothing (the next worker sends the job again with the same idempotency key, and the
platform acts once), and SIGTERM stops a worker cleanly after it records the delivery under
way."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from safeguard.outbox import NewEndpoint, WebhookService, enqueue
from safeguard.store import Database
from tests.conftest import safeguard_exe
from tests.outbox.receiver import Receiver

# a dead worker's job is taken again 3.5 s after it was claimed; a delivery may take 1.5 s
WORKER = ["worker", "--lease", "3.5", "--http-timeout", "1.5", "--poll", "0.1"]


def _start(home: Path, db_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SAFEGUARD_HOME": str(home), "SAFEGUARD_DATABASE_URL": db_url}
    return subprocess.Popen(
        [safeguard_exe(), *WORKER],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(condition, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_a_worker_killed_mid_delivery_loses_nothing_and_the_platform_acts_once(
    db: Database,
    db_url: str,
    home: Path,
    webhooks: WebhookService,
    platform: NewEndpoint,
    receiver: Receiver,
) -> None:
    with db.write_transaction() as s:
        (job_id,) = enqueue(s, "verdict", {"event_id": 1, "verdict": "hold"}, "verdict:1")
    # the platform acts on the first request, then holds it open: the worker dies before
    # it hears back; the second request (the same key) it answers without acting again,
    # after holding it open too, long enough for the second worker to be told to stop
    receiver.then("hang", "hang")
    first = _start(home, db_url)
    try:
        started = receiver.got_request.wait(30)
        assert started, first.stderr.read() if first.poll() is not None else "no request"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    killed = webhooks.job(job_id)
    assert (killed.state, killed.attempts) == ("delivering", 1)
    assert receiver.actions == ["verdict:1:platform"]

    second = _start(home, db_url)
    try:
        receiver.wait_for(2)  # after the first worker's lease ran out
        second.send_signal(signal.SIGTERM)  # mid-delivery: it finishes and records it
        time.sleep(0.3)
        receiver.release.set()
        _, err = second.communicate(timeout=20)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, err
    assert "SIGTERM: stopping after the delivery under way" in err
    assert f"delivered job {job_id} (verdict) to platform: HTTP 200" in err
    assert "stopped: 1 delivered" in err

    first_try, second_try = receiver.received
    assert first_try.key == second_try.key == "verdict:1:platform"
    assert first_try.body == second_try.body
    assert receiver.actions == ["verdict:1:platform"], "the platform acted once"
    done = webhooks.job(job_id)
    assert (done.state, done.attempts, done.locked_by) == ("delivered", 2, None)
    assert "stopped during attempt 1 (lease expired)" in done.last_error
    assert webhooks.jobs() == [done]
