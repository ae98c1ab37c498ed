"""The outbox: telling the platform about verdicts and decisions by signed webhook, without
losing a message to a crash and without ever making a verdict wait for the platform.

- `enqueue(session, topic, payload, key)` writes the messages in the caller's transaction
  (queue.py);
- `Worker` (`safeguard worker`) claims due jobs, posts them signed, retries with backoff and
  marks what keeps failing `failed`, and runs periodic tasks (worker.py, claims.py,
  delivery.py);
- `WebhookService` (`safeguard webhooks`) manages endpoints, lists failed deliveries and
  replays them (webhooks.py);
- `outbox_stats(db)` counts jobs by state for /metrics.

Delivery is at least once: a job whose worker died mid-delivery is sent again with the
same `Idempotency-Key`, so a receiver that acts once per key acts exactly once.
"""

from safeguard.outbox.delivery import signature
from safeguard.outbox.queue import TOPICS, enqueue, outbox_stats
from safeguard.outbox.webhooks import EndpointInfo, JobInfo, NewEndpoint, WebhookService
from safeguard.outbox.worker import PeriodicTask, Worker

__all__ = [
    "TOPICS",
    "EndpointInfo",
    "JobInfo",
    "NewEndpoint",
    "PeriodicTask",
    "WebhookService",
    "Worker",
    "enqueue",
    "outbox_stats",
    "signature",
]
