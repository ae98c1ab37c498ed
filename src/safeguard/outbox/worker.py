"""`safeguard worker`'s engine: delivers due outbox jobs and runs periodic tasks.

Each delivery is claim (a short transaction), HTTP (outside any transaction), then record
the outcome (a short transaction). A failed attempt is tried again after an exponential
backoff with jitter (`retry_base * 2^(attempt-1)` seconds, capped at an hour, times 0.5 to
1); after `max_attempts` the job is `failed`, listed by `safeguard webhooks failed` until
replayed. Periodic tasks (evidence purges, audit checkpoints...) run between deliveries,
each every `every` seconds; a task that raises is logged and tried again next time. Every
worker sharing a database runs its own periodic tasks, so they must be safe to run twice.

One line per delivery outcome is logged on the `safeguard.outbox` logger.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from safeguard.errors import InvalidRequest
from safeguard.outbox.claims import Claim, claim_due, finish
from safeguard.outbox.delivery import Outcome, Sender
from safeguard.store import Database
from safeguard.store.models import utcnow

log = logging.getLogger("safeguard.outbox")

#: the longest wait between two attempts
MAX_BACKOFF = 3600.0
#: jobs one `run_once` attempts at most, so periodic tasks and stopping are never held up
RUN_ONCE_LIMIT = 500


@dataclass(frozen=True)
class PeriodicTask:
    """A job the worker runs every `every` seconds (first at its start), given the time."""

    name: str
    every: float
    fn: Callable[[datetime], object]

    def __post_init__(self) -> None:
        if not self.every > 0:
            raise InvalidRequest(f"periodic task {self.name!r} needs a period above 0 s")


def backoff(attempt: int, base: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number `attempt` (from 1): exponential, capped,
    with jitter so jobs that failed together do not come back together."""
    full = min(MAX_BACKOFF, base * 2 ** min(attempt - 1, 30))
    return full * rng.uniform(0.5, 1.0)


class Worker:
    """Claims due jobs and delivers them; runs the periodic tasks given to it."""

    def __init__(
        self,
        db: Database,
        *,
        name: str | None = None,
        tasks: Sequence[PeriodicTask] = (),
        http_timeout: float = 10,
        lease: float = 60,
        max_attempts: int = 8,
        retry_base: float = 30,
        poll: float = 1.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not http_timeout > 0:
            raise InvalidRequest("the HTTP timeout must be above 0 s")
        if not lease > 2 * http_timeout:
            raise InvalidRequest(
                f"the lease ({lease:g} s) must be more than twice the HTTP timeout "
                f"({http_timeout:g} s): a delivery still under way must never be taken over"
            )
        if max_attempts < 1:
            raise InvalidRequest("a job needs at least 1 attempt (--max-attempts)")
        if retry_base < 0 or poll <= 0:
            raise InvalidRequest("the retry base must be 0 s or more, the poll above 0 s")
        self.db = db
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.tasks = tuple(tasks)
        self.http_timeout = http_timeout
        self.lease = lease
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.poll = poll
        self.clock = clock or utcnow
        #: outcomes so far: delivered, retry, failed, lost (the lease went to another worker)
        self.counts: Counter[str] = Counter()
        self._rng = random.Random()
        # made now, so a missing `server` extra is said at the start, not at the first job
        self._sender: Sender | None = Sender(http_timeout)
        self._next_run: dict[str, datetime] = {}

    # -- deliveries ----------------------------------------------------------------------

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Deliver what is due now, one job at a time; return how many attempts were made."""
        attempts = 0
        while attempts < RUN_ONCE_LIMIT and not (stop and stop.is_set()):
            claims = claim_due(
                self.db,
                self.name,
                self.clock(),
                lease=self.lease,
                max_attempts=self.max_attempts,
            )
            if not claims:
                break
            for claim in claims:
                self._deliver(claim)
                attempts += 1
        return attempts

    def _deliver(self, claim: Claim) -> None:
        if self._sender is None:
            self._sender = Sender(self.http_timeout)
        outcome = self._sender.send(claim, self.clock())
        now = self.clock()
        what = f"job {claim.id} ({claim.topic}) to {claim.endpoint}"
        if outcome.delivered:
            kept = finish(self.db, claim, self.name, delivered_at=now)
            result, line = "delivered", f"delivered {what}: {_took(outcome)}"
        elif outcome.retry and claim.attempt < self.max_attempts:
            wait = backoff(claim.attempt, self.retry_base, self._rng)
            at = now + timedelta(seconds=wait)
            kept = finish(self.db, claim, self.name, error=outcome.detail, retry_at=at)
            result = "retry"
            line = (
                f"{what} failed (attempt {claim.attempt} of {self.max_attempts}): "
                f"{_took(outcome)}; trying again in {wait:.0f} s"
            )
        else:
            kept = finish(self.db, claim, self.name, error=outcome.detail)
            result = "failed"
            line = (
                f"{what} FAILED after {claim.attempt} attempt(s): {_took(outcome)} "
                "(see `safeguard webhooks failed`)"
            )
        if not kept:
            result = "lost"
            line = f"{what}: its lease ran out and another worker took it ({_took(outcome)})"
        self.counts[result] += 1
        (log.info if result == "delivered" else log.warning)(line)

    # -- periodic tasks ------------------------------------------------------------------

    def run_due_tasks(self) -> list[str]:
        """Run every task whose time has come (all of them the first time); return their
        names. A task that raises is logged and runs again when next due."""
        ran = []
        for task in self.tasks:
            now = self.clock()
            if self._next_run.get(task.name, now) > now:
                continue
            self._next_run[task.name] = now + timedelta(seconds=task.every)
            ran.append(task.name)
            try:
                result = task.fn(now)
            except Exception as e:
                log.error("task %s failed: %s: %s", task.name, type(e).__name__, _first_line(e))
            else:
                shown = result.to_json() if hasattr(result, "to_json") else result
                said = f": {str(shown)[:300]}" if shown else ""
                log.info("task %s done%s", task.name, said)
        return ran

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Deliver and run tasks until `stop` is set; a delivery under way is finished
        (and recorded) first. A database or other error is logged and the loop goes on."""
        try:
            while not stop.is_set():
                try:
                    attempts = self.run_once(stop)
                    if not stop.is_set():
                        self.run_due_tasks()
                except Exception as e:  # the database went away, ...: keep going
                    log.error("worker error: %s: %s", type(e).__name__, _first_line(e))
                    attempts = 0
                if not attempts:
                    stop.wait(self.poll)
        finally:
            self.close()

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
            self._sender = None


def _took(outcome: Outcome) -> str:
    return f"{outcome.detail} in {outcome.seconds:.2f} s"


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else ""
