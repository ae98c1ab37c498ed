"""Recorded-crime statistics: imported files and the figures read from them (issue #6).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stats_imports",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("builtin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("figure_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("imported_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_stats_imports_sha256", "stats_imports", ["sha256"])
    op.create_table(
        "stats_figures",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "import_id",
            BigId,
            sa.ForeignKey("stats_imports.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("basis", sa.String(200), nullable=False, server_default=""),
        sa.Column("is_primary", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("release", sa.String(40), nullable=False, server_default=""),
        sa.Column("release_year", sa.Integer, nullable=True),
        sa.Column("geography", sa.String(120), nullable=False),
        sa.Column("geography_label", sa.String(200), nullable=False, server_default=""),
        sa.Column("period_type", sa.String(10), nullable=False),
        sa.Column("year_kind", sa.String(4), nullable=False),
        sa.Column("period_first", sa.Integer, nullable=True),
        sa.Column("period_last", sa.Integer, nullable=False),
        sa.Column("quarter", sa.Integer, nullable=True),
        sa.Column("period_label", sa.String(80), nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        sa.Column("offence", sa.String(40), nullable=False),
        sa.Column("offence_label", sa.String(300), nullable=False, server_default=""),
        sa.Column("platform", sa.String(120), nullable=False, server_default=""),
        sa.Column("value", sa.Float(53), nullable=True),
        sa.Column("share_pct", sa.Float(53), nullable=True),
        sa.Column("qualifier", sa.String(20), nullable=False, server_default="exact"),
        sa.Column("source_url", sa.Text, nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("file_row", sa.Integer, nullable=True),
        sa.Column("dedupe_key", sa.String(400), nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_stats_figures_dedupe"),
    )
    op.create_index("ix_stats_figures_lookup", "stats_figures", ["geography", "source", "measure"])
    op.create_index("ix_stats_figures_import", "stats_figures", ["import_id"])


def downgrade() -> None:
    op.drop_table("stats_figures")
    op.drop_table("stats_imports")
