"""Referrals to NCMEC and the NCA, the files they send, content already referred (issue #16).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("case_id", BigId, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("agency", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("report_id", sa.String(100), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("missing", sa.JSON, nullable=False),
        sa.Column("content_keys", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("submitted_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error_kind", sa.String(30), nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_referrals_case", "referrals", ["case_id", "agency"])
    op.create_index("ix_referrals_state", "referrals", ["state"])
    op.create_index("ix_referrals_account_id", "referrals", ["account_id"])
    op.create_table(
        "referral_files",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "referral_id",
            BigId,
            sa.ForeignKey("referrals.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("evidence_id", BigId, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("file_id", sa.String(100), nullable=True),
        sa.Column("described", sa.Boolean, nullable=False),
    )
    op.create_index("ix_referral_files_referral_id", "referral_files", ["referral_id"])
    op.create_table(
        "referred_content",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("agency", sa.String(10), nullable=False),
        sa.Column("content_key", sa.String(200), nullable=False),
        sa.Column("referral_id", BigId, sa.ForeignKey("referrals.id"), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index(
        "ix_referred_content_key", "referred_content", ["agency", "content_key"], unique=True
    )


def downgrade() -> None:
    op.drop_table("referred_content")
    op.drop_table("referral_files")
    op.drop_table("referrals")
