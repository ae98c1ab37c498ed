"""Prometheus metrics: requests by route and status, latency, lookups, index size and age,
events per group-commit batch, the webhook outbox (jobs by state, the oldest undelivered
job's age) and referrals by state.

With several worker processes, `safeguard serve` sets PROMETHEUS_MULTIPROC_DIR so every
process writes its samples there and `/metrics` reports all of them together. The outbox
gauges are read from the store when `/metrics` is scraped (two small queries), by the
process that answers the scrape: the outbox is one for all processes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safeguard.matching import MatchResult
from safeguard.outbox.queue import STATES, outbox_stats
from safeguard.store import Database

log = logging.getLogger("safeguard.api")

REQUESTS = Counter(
    "safeguard_http_requests", "HTTP requests by route and status.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "safeguard_http_request_seconds",
    "Time to answer an HTTP request.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
EVENT_BATCH = Histogram(
    "safeguard_event_batch_events",
    "Events judged together in one batch (one write transaction for those to keep): "
    "concurrent requests share them (group commit).",
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128, 256),
)
LOOKUPS = Counter("safeguard_lookups", "Signal lookups against the index.", ["signal_type"])
MATCHED = Counter("safeguard_lookups_matched", "Lookups that matched a positive bank.")
INDEX_ENTRIES = Gauge(
    "safeguard_index_entries",
    "Entries in the match index by signal type.",
    ["signal_type"],
    multiprocess_mode="max",
)
INDEX_AGE = Gauge(
    "safeguard_index_age_seconds",
    "Seconds since the index last caught up with the change log.",
    multiprocess_mode="max",
)


def read_samples(text: str, prefix: str) -> dict[str, float]:
    """The samples of the metric families named `prefix...` in a `/metrics` page (parsed as
    Prometheus parses it, so it must be valid), by name and labels as Prometheus prints them
    (`safeguard_outbox_jobs{state="failed"}`): for scripts and tests that read a server."""
    out = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith(prefix):
            for s in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                out[s.name + (f"{{{labels}}}" if labels else "")] = s.value
    return out


def count_lookups(queries: Iterable[dict[str, str]], results: Iterable[MatchResult]) -> None:
    for q in queries:
        for t in q:
            _child(LOOKUPS, t).inc()
    matched = sum(1 for r in results if r.matched)
    if matched:
        MATCHED.inc(matched)


_CHILDREN: dict[tuple[object, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, kept: a lookup per request instead of a locked one."""
    key = (metric, *labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*labels)
    return child


class OutboxCollector(Collector):
    """`safeguard_outbox_jobs{state}` and `safeguard_outbox_oldest_pending_seconds`, read
    from the store at each collection (`outbox_stats`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        try:
            stats = outbox_stats(self.db)
        except Exception as e:  # the store is down: the rest of the metrics are still worth serving
            log.warning("metrics: cannot read the outbox: %s", e)
            return
        jobs = GaugeMetricFamily(
            "safeguard_outbox_jobs", "Webhook jobs in the outbox by state.", labels=["state"]
        )
        for state in STATES:
            jobs.add_metric([state], stats[state])
        yield jobs
        yield GaugeMetricFamily(
            "safeguard_outbox_oldest_pending_seconds",
            "Seconds the oldest undelivered webhook job has waited (0 when none waits).",
            value=stats["oldest_pending_age_s"],
        )


class ReferralCollector(Collector):
    """`safeguard_referrals{agency,state}` read from the store at each collection: failed
    referrals show here as well as in `safeguard referrals failed` and on their case."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        from safeguard.refer.service import referral_counts

        try:
            counts = referral_counts(self.db)
        except Exception as e:  # the store is down: the rest of the metrics are still worth serving
            log.warning("metrics: cannot read the referrals: %s", e)
            return
        family = GaugeMetricFamily(
            "safeguard_referrals",
            "Referrals to NCMEC and the NCA by state (failed: see `safeguard referrals failed`).",
            labels=["agency", "state"],
        )
        for agency in ("ncmec", "nca"):
            for state in ("draft", "approved", "submitting", "submitted", "finished", "failed"):
                family.add_metric([agency, state], counts.get((agency, state), 0))
        yield family


def render(db: Database | None = None) -> tuple[bytes, str]:
    """Every worker's metrics, and the outbox of `db` (read now: only a scrape pays for it)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    if db is not None:
        outbox = CollectorRegistry()
        outbox.register(OutboxCollector(db))
        outbox.register(ReferralCollector(db))
        body += generate_latest(outbox)
    return body, CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts every request by its route template (not the raw path) and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            _child(REQUESTS, route, scope.get("method", ""), str(status)).inc()
            _child(LATENCY, route).observe(time.perf_counter() - start)
