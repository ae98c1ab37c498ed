"""Versioned rule sets and the rules that fired on each event, live or in shadow (issue #15).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("applied_at", TS, nullable=False),
        sa.Column("applied_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "rule_hits",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("event_id", BigId, nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("rule_set", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("shadow", sa.Boolean, nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_rule_hits_rule", "rule_hits", ["rule", "at"])
    op.create_index("ix_rule_hits_event_id", "rule_hits", ["event_id"])
    op.create_index("ix_rule_hits_account_id", "rule_hits", ["account_id"])


def downgrade() -> None:
    op.drop_table("rule_hits")
    op.drop_table("rule_sets")
