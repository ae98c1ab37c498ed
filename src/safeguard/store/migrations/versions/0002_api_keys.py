"""HTTP service: API keys (hashed secrets, scopes, rate limits), bank match ratio, content
switched off until a time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("prefix", sa.String(32), nullable=False, unique=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("rate_limit", sa.Integer, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("revoked_at", TS, nullable=True),
    )
    with op.batch_alter_table("banks") as batch:
        batch.add_column(
            sa.Column("match_ratio", sa.Float, nullable=False, server_default=sa.text("1.0"))
        )
    with op.batch_alter_table("bank_content") as batch:
        batch.add_column(sa.Column("disabled_until", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bank_content") as batch:
        batch.drop_column("disabled_until")
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("match_ratio")
    op.drop_table("api_keys")
