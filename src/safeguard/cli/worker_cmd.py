"""`safeguard worker`: deliver webhooks (the outbox) and run periodic tasks, until SIGTERM
or SIGINT, or once (`--once`, for cron and tests). One line per delivery outcome on stderr."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from safeguard.cli.context import state
from safeguard.cli.output import err_console, stop_on_signals
from safeguard.config import Settings
from safeguard.outbox import PeriodicTask, Worker
from safeguard.store import Database

#: how often each worker signs an audit checkpoint and purges evidence past its retention
CHECKPOINT_EVERY = 3600.0
PURGE_EVERY = 3600.0


def periodic_tasks(
    settings: Settings, exchange_every: float = 5.0, exchange_api_every: float = 300.0
) -> list[PeriodicTask]:
    """The periodic tasks every worker runs, all safe to run in several workers (a source
    synced by two at once: one applies the page, the other finds it done)."""
    from safeguard.audit.checkpoints import checkpoint_task
    from safeguard.evidence.retention import purge_task
    from safeguard.exchange.sync import sync_task

    return [
        PeriodicTask("audit-checkpoint", CHECKPOINT_EVERY, checkpoint_task(settings)),
        PeriodicTask("evidence-purge", PURGE_EVERY, purge_task(settings)),
        PeriodicTask("exchange-sync", exchange_every, sync_task(settings, exchange_api_every)),
    ]


@contextmanager
def _log_to_stderr() -> Iterator[None]:
    """The outbox's log lines on stderr, one per line, while the worker runs."""
    logger = logging.getLogger("safeguard.outbox")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    before = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before[0])
        logger.propagate = before[1]


def worker_command(
    once: bool = typer.Option(
        False, "--once", help="Deliver what is due and run each periodic task once, then exit."
    ),
    poll: float = typer.Option(1.0, "--poll", help="Seconds between looks when idle."),
    name: str | None = typer.Option(
        None, "--name", help="This worker's name in the queue (default: host:pid:random)."
    ),
    lease: float = typer.Option(
        60.0,
        "--lease",
        help="Seconds a claimed job stays this worker's; past it (the worker died) another "
        "worker sends it again, with the same idempotency key.",
    ),
    http_timeout: float = typer.Option(
        10.0, "--http-timeout", help="Seconds to wait for an endpoint to connect and answer."
    ),
    max_attempts: int = typer.Option(
        8, "--max-attempts", help="Attempts before a job is failed (`webhooks failed`)."
    ),
    exchange_every: float = typer.Option(
        5.0,
        "--exchange-every",
        min=0.1,
        help="Seconds between syncs of the peers' feeds this instance follows.",
    ),
    exchange_api_every: float = typer.Option(
        300.0,
        "--exchange-api-every",
        min=1.0,
        help="Seconds between syncs of each hash-sharing service (NCMEC, StopNCII...).",
    ),
    retry_base: float = typer.Option(
        30.0,
        "--retry-base",
        help="Seconds before the second attempt; each later wait doubles (at most 1 hour).",
    ),
) -> None:
    """Deliver webhooks and run periodic tasks until SIGTERM or SIGINT (exit 0)."""
    settings = state.get_settings()
    db = Database.open(settings.database_url)
    try:
        worker = Worker(
            db,
            name=name,
            tasks=periodic_tasks(settings, exchange_every, exchange_api_every),
            http_timeout=http_timeout,
            lease=lease,
            max_attempts=max_attempts,
            retry_base=retry_base,
            poll=poll,
        )
        with _log_to_stderr():
            if once:
                try:
                    worker.run_once()
                    worker.run_due_tasks()
                finally:
                    worker.close()
            else:
                err_console.print(f"worker {worker.name} started", markup=False)
                stop = threading.Event()
                with stop_on_signals(stop, "the delivery under way"):
                    worker.run(stop)
        counts = ", ".join(f"{n} {k}" for k, n in sorted(worker.counts.items())) or "no deliveries"
        ended = "done" if once else "stopped"
        err_console.print(f"worker {worker.name} {ended}: {counts}", markup=False)
    finally:
        db.close()
