"""Tables of the recorded-crime statistics module (issue #6), created by migration 0003.

`stats_imports` records every imported file (and the built-in published figures shipped with
safeguard); `stats_figures` holds one row per figure with where it came from: the source that
produced it (NSPCC FOI, Home Office, Scottish Government, PSNI), the release it was published
in, the file and row it was read from. `dedupe_key` is unique: a figure for the same thing is
never stored twice (see safeguard.stats.ingest.common.Figure.dedupe_key).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, BigId, UTCDateTime, utcnow


class StatsImport(Base):
    """One imported file: its format, checksum and what it held."""

    __tablename__ = "stats_imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # prc | foi | figures
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    figure_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class StatsFigure(Base):
    """One figure: a count for an area and period, a published total or change, or a
    platform count or share."""

    __tablename__ = "stats_figures"
    __table_args__ = (
        Index("ix_stats_figures_lookup", "geography", "source", "measure"),
        Index("ix_stats_figures_import", "import_id"),
        UniqueConstraint("dedupe_key", name="uq_stats_figures_dedupe"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("stats_imports.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(String(200), default="")
    # True for raw returns and tables, False for figures transcribed from publications
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    release: Mapped[str] = mapped_column(String(40), default="")
    release_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    geography: Mapped[str] = mapped_column(String(120))
    geography_label: Mapped[str] = mapped_column(String(200), default="")
    # what the figure covers: a year, a span of years (a total) or a change between years
    period_type: Mapped[str] = mapped_column(String(10))  # year | span | change
    year_kind: Mapped[str] = mapped_column(String(4))  # fy | cy
    period_first: Mapped[int | None] = mapped_column(Integer, nullable=True)
    period_last: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int | None] = mapped_column(Integer, nullable=True)
    period_label: Mapped[str] = mapped_column(String(80))
    measure: Mapped[str] = mapped_column(String(20))  # count | total | pct_change | platform
    offence: Mapped[str] = mapped_column(String(40))
    offence_label: Mapped[str] = mapped_column(String(300), default="")
    platform: Mapped[str] = mapped_column(String(120), default="")
    value: Mapped[float | None] = mapped_column(Float(53), nullable=True)
    share_pct: Mapped[float | None] = mapped_column(Float(53), nullable=True)
    qualifier: Mapped[str] = mapped_column(String(20), default="exact")
    source_url: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    file_row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dedupe_key: Mapped[str] = mapped_column(String(400))
