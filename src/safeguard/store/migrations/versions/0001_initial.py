"""Initial schema: banks, bank content, content signals, append-only change log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from safeguard.store.migrations.triggers import append_only, drop_append_only

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("pdq_threshold", sa.Integer, nullable=False, server_default="31"),
        sa.Column("negative", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "bank_content",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("bank_id", BigId, sa.ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("source", sa.String(500), nullable=False, server_default=""),
        sa.Column("external_id", sa.String(500), nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False, server_default=""),
        sa.UniqueConstraint("bank_id", "dedupe_key", name="uq_content_dedupe"),
    )
    op.create_index("ix_bank_content_bank_id", "bank_content", ["bank_id"])
    op.create_index("ix_bank_content_external_id", "bank_content", ["external_id"])
    op.create_table(
        "content_signals",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "content_id",
            BigId,
            sa.ForeignKey("bank_content.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("bank_id", BigId, sa.ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("signal_type", sa.String(50), nullable=False),
        sa.Column("signal_value", sa.String(200), nullable=False),
        sa.Column("quality", sa.Integer, nullable=True),
        sa.UniqueConstraint("content_id", "signal_type", name="uq_signal_per_content"),
    )
    op.create_index("ix_signal_lookup", "content_signals", ["signal_type", "signal_value"])
    op.create_index("ix_signal_bank", "content_signals", ["bank_id", "signal_type", "signal_value"])
    op.create_table(
        "change_log",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("bank_id", BigId, nullable=True),
        sa.Column("bank_name", sa.String(100), nullable=True),
        sa.Column("content_id", BigId, nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    append_only("change_log")


def downgrade() -> None:
    drop_append_only("change_log")
    op.drop_table("change_log")
    op.drop_table("content_signals")
    op.drop_table("bank_content")
    op.drop_table("banks")
