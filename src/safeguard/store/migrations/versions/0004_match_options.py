"""Per-bank matching options: rotations and flips (dihedral), borders (trim_borders).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.add_column(
            sa.Column("dihedral", sa.Boolean, nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("trim_borders", sa.Boolean, nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("trim_borders")
        batch.drop_column("dihedral")
