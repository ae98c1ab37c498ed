"""Exchange between platforms: published feeds, their signed entries and opinions; the
sources this instance follows; lists of account identifiers peers check privately (issue
#19).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_feeds",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("bank_id", sa.BigInteger, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("head_seq", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("change_cursor", sa.BigInteger, nullable=False),
        sa.Column("change_gaps", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "exchange_feed_entries",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "feed_id",
            BigId,
            sa.ForeignKey("exchange_feeds.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("op", sa.String(10), nullable=False),
        sa.Column("item", sa.BigInteger, nullable=False),
        sa.Column("signals", sa.JSON, nullable=False),
        sa.Column("provenance", sa.JSON, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.UniqueConstraint("feed_id", "seq", name="uq_feed_entry_seq"),
    )
    op.create_table(
        "exchange_feed_items",
        sa.Column(
            "feed_id",
            BigId,
            sa.ForeignKey("exchange_feeds.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("item", sa.BigInteger, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "exchange_opinions",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "feed_id",
            BigId,
            sa.ForeignKey("exchange_feeds.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("item", sa.BigInteger, nullable=False),
        sa.Column("peer", sa.String(200), nullable=False),
        sa.Column("opinion", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("feed_id", "item", "peer", name="uq_opinion_per_peer"),
    )
    op.create_table(
        "exchange_sources",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("feed", sa.String(100), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("credential", sa.String(500), nullable=False),
        sa.Column("api", sa.String(50), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("checkpoint", sa.JSON, nullable=True),
        sa.Column("bank_name", sa.String(100), nullable=False),
        sa.Column("may_block", sa.Boolean, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("last_sync_at", TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "exchange_received",
        sa.Column(
            "source_id",
            BigId,
            sa.ForeignKey("exchange_sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("item", sa.BigInteger, primary_key=True),
        sa.Column("content_id", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("created", sa.Boolean, nullable=False),
    )
    op.create_index("ix_exchange_received_content_id", "exchange_received", ["content_id"])
    op.create_table(
        "exchange_api_received",
        sa.Column(
            "source_id",
            BigId,
            sa.ForeignKey("exchange_sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("content_id", sa.BigInteger, nullable=False),
        sa.Column("created", sa.Boolean, nullable=False),
    )
    op.create_index("ix_exchange_api_received_content_id", "exchange_api_received", ["content_id"])
    op.create_table(
        "exchange_my_opinions",
        sa.Column(
            "source_id",
            BigId,
            sa.ForeignKey("exchange_sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("item", sa.BigInteger, primary_key=True),
        sa.Column("opinion", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
    )

    op.create_table(
        "exchange_identifiers",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("list_name", sa.String(100), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("list_name", "digest", name="uq_identifier_per_list"),
    )


def downgrade() -> None:
    op.drop_table("exchange_identifiers")
    op.drop_table("exchange_my_opinions")
    op.drop_index("ix_exchange_api_received_content_id", "exchange_api_received")
    op.drop_table("exchange_api_received")
    op.drop_index("ix_exchange_received_content_id", "exchange_received")
    op.drop_table("exchange_received")
    op.drop_table("exchange_sources")
    op.drop_table("exchange_opinions")
    op.drop_table("exchange_feed_items")
    op.drop_table("exchange_feed_entries")
    op.drop_table("exchange_feeds")
