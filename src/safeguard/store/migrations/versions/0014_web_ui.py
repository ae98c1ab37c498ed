"""The web UI: login sessions, users' preferences and login lock, bank imports (issue #17).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as t:
        t.add_column(sa.Column("preferences", sa.JSON, nullable=False, server_default="{}"))
        t.add_column(sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
        t.add_column(sa.Column("locked_until", TS, nullable=True))
    op.create_table(
        "ui_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("revealed", BigId, nullable=True),
        sa.Column("client", sa.String(200), nullable=False),
    )
    op.create_index("ix_ui_sessions_user", "ui_sessions", ["user_name"])
    op.create_table(
        "bank_imports",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("bank_name", sa.String(100), nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("fmt", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("done", sa.BigInteger, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("bank_imports")
    op.drop_index("ix_ui_sessions_user", "ui_sessions")
    op.drop_table("ui_sessions")
    with op.batch_alter_table("users") as t:
        t.drop_column("locked_until")
        t.drop_column("failed_logins")
        t.drop_column("preferences")
