"""Fewer index pages written with each verdict.

A matched event's write touches every index of `events`, `rule_hits`, `cases` and
`case_items`, and on SQLite each page it changes is a frame written to the log (two system
calls each), which was most of the commit's cost (docs/benchmarks.md). The unique index on
the platform's event id now lists only events that have one (most have none, and were all
filed under NULL), and the two indexes of `rule_hits` that no query reads (by event and by
account: the rules report reads hits by rule and time) are gone.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_HAS_ID = sa.text("external_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_events_external", table_name="events")
    op.create_index(
        "ix_events_external",
        "events",
        ["external_id"],
        unique=True,
        sqlite_where=_HAS_ID,
        postgresql_where=_HAS_ID,
    )
    op.drop_index("ix_rule_hits_event_id", table_name="rule_hits")
    op.drop_index("ix_rule_hits_account_id", table_name="rule_hits")


def downgrade() -> None:
    op.create_index("ix_rule_hits_account_id", "rule_hits", ["account_id"])
    op.create_index("ix_rule_hits_event_id", "rule_hits", ["event_id"])
    op.drop_index("ix_events_external", table_name="events")
    op.create_index("ix_events_external", "events", ["external_id"], unique=True)
