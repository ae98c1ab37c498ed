"""Alembic environment: runs migrations on the connection safeguard hands it."""

from alembic import context

import safeguard.store.audit_tables  # noqa: F401  (each module's tables join Base.metadata)
import safeguard.store.event_tables  # noqa: F401
import safeguard.store.evidence_tables  # noqa: F401
import safeguard.store.exchange_tables  # noqa: F401
import safeguard.store.outbox_tables  # noqa: F401
import safeguard.store.referral_tables  # noqa: F401
import safeguard.store.review_tables  # noqa: F401
import safeguard.store.rules_tables  # noqa: F401
import safeguard.store.stats_tables  # noqa: F401
import safeguard.store.web_tables  # noqa: F401
from safeguard.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - safeguard always passes a connection
    raise RuntimeError("run migrations through safeguard.store.Database.migrate()")
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
