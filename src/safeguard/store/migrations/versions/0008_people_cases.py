"""People, events and verdicts, cases, the watch list, flood quarantine (issue #15); API
keys can act for a user.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
ACTIVE = "state IN ('open', 'in_review')"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("totp_secret", sa.String(100), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("disabled_at", TS, nullable=True),
    )
    op.add_column("api_keys", sa.Column("user_name", sa.String(100), nullable=True))
    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("case_id", BigId, nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_events_account", "events", ["account_id", "received_at"])
    op.create_index("ix_events_external", "events", ["external_id"], unique=True)
    op.create_index("ix_events_case_id", "events", ["case_id"])
    op.create_table(
        "cases",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("child_safety", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("decision", sa.String(20), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index(
        "uq_cases_active_account",
        "cases",
        ["account_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index("ix_cases_queue", "cases", ["state", "priority", "opened_at"])
    op.create_table(
        "case_items",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("case_id", BigId, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", BigId, nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("bank_name", sa.String(100), nullable=True),
        sa.Column("content_id", BigId, nullable=True),
        sa.Column("signal_type", sa.String(50), nullable=True),
        sa.Column("distance", sa.Integer, nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_case_items_case_id", "case_items", ["case_id"])
    op.create_index("ix_case_items_content_id", "case_items", ["content_id"])
    op.create_table(
        "watchlist",
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "quarantined_entries",
        sa.Column("content_id", BigId, primary_key=True),
        sa.Column("bank_name", sa.String(100), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("released_at", TS, nullable=True),
        sa.Column("released_by", sa.String(100), nullable=True),
    )


def downgrade() -> None:
    for table in ("quarantined_entries", "watchlist", "case_items", "cases", "events", "users"):
        op.drop_table(table)
    op.execute("ALTER TABLE api_keys DROP COLUMN user_name")
