"""Local features: the per-bank option and the table that keeps them (signals/local.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.add_column(
            sa.Column("local_features", sa.Boolean, nullable=False, server_default=sa.true())
        )
    op.create_table(
        "content_features",
        sa.Column(
            "content_id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            sa.ForeignKey("bank_content.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "bank_id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            sa.ForeignKey("banks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("ix_content_features_bank_id", "content_features", ["bank_id"])


def downgrade() -> None:
    op.drop_index("ix_content_features_bank_id", "content_features")
    op.drop_table("content_features")
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("local_features")
