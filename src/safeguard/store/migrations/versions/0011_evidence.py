"""Preserved evidence: encrypted files with their retention clock (issue #15).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", BigId, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("stored_at", TS, nullable=False),
        sa.Column("stored_by", sa.String(200), nullable=False),
        sa.Column("clock_reason", sa.String(50), nullable=True),
        sa.Column("retain_until", TS, nullable=True),
        sa.Column("legal_hold", sa.Boolean, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("deleted_reason", sa.Text, nullable=False),
    )
    op.create_index("ix_evidence_case_id", "evidence", ["case_id"])


def downgrade() -> None:
    op.drop_table("evidence")
