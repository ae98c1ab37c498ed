"""Signal values too long for `content_signals` (a video's vPDQ), kept whole apart.

`content_signals.signal_value` keeps its length and indexes; for a value over 200
characters it holds `sha256:<hex>` of it, and `content_values` the value itself.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "content_values",
        sa.Column(
            "signal_id",
            BigId,
            sa.ForeignKey("content_signals.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("content_values")
