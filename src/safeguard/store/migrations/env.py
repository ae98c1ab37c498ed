"""Alembic environment: runs migrations on the connection safeguard hands it."""

from alembic import context

import safeguard.store.event_tables  # noqa: F401  (feed cursors join Base.metadata)
import safeguard.store.stats_tables  # noqa: F401  (its tables join Base.metadata)
from safeguard.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - safeguard always passes a connection
    raise RuntimeError("run migrations through safeguard.store.Database.migrate()")
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
