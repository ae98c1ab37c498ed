"""Thresholds per (bank, signal type): a JSON object on each bank replaces `pdq_threshold`.

Only thresholds a bank sets are stored; a type a bank does not name uses the type's default
(`SignalType.default_threshold`), so a signal type installed later works in every bank.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("banks", sa.Column("thresholds", sa.JSON, nullable=False, server_default="{}"))
    banks = sa.table(
        "banks", sa.column("id"), sa.column("pdq_threshold"), sa.column("thresholds", sa.JSON)
    )
    conn = op.get_bind()
    for bank_id, pdq in conn.execute(sa.select(banks.c.id, banks.c.pdq_threshold)).all():
        conn.execute(
            banks.update().where(banks.c.id == bank_id).values(thresholds={"pdq": int(pdq)})
        )
    # a plain ALTER on both databases (SQLite >= 3.35): a batch copy of `banks` would drop
    # and re-create the table that content rows cascade from
    op.execute("ALTER TABLE banks DROP COLUMN pdq_threshold")


def downgrade() -> None:
    op.add_column(
        "banks", sa.Column("pdq_threshold", sa.Integer, nullable=False, server_default="31")
    )
    banks = sa.table(
        "banks", sa.column("id"), sa.column("pdq_threshold"), sa.column("thresholds", sa.JSON)
    )
    conn = op.get_bind()
    for bank_id, thresholds in conn.execute(sa.select(banks.c.id, banks.c.thresholds)).all():
        value = (json.loads(thresholds) if isinstance(thresholds, str) else thresholds) or {}
        if "pdq" in value:
            conn.execute(
                banks.update().where(banks.c.id == bank_id).values(pdq_threshold=value["pdq"])
            )
    op.execute("ALTER TABLE banks DROP COLUMN thresholds")
