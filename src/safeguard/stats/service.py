"""StatsService: the statistics module over one store (imports, summaries, the analysis).

Loaded on first use of `safeguard.stats.StatsService`, so the lighter parts of the package
(periods, geography, reference data, reading spreadsheets) do not bring in SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path

import safeguard.store.stats_tables  # noqa: F401  (registers the tables on Base.metadata)
from safeguard.config import Settings
from safeguard.stats.analysis import Analysis, Summary
from safeguard.stats.repository import ImportInfo, StatsRepository, import_paths
from safeguard.store import Database


class StatsService:
    """The statistics module over one store."""

    def __init__(self, db: Database, actor: str = "") -> None:
        self.db = db
        self.repo = StatsRepository(db, actor)
        self.analysis = Analysis(self.repo)

    @classmethod
    def open(cls, settings: Settings | None = None) -> StatsService:
        settings = settings or Settings.from_env()
        return cls(Database.open(settings.database_url), settings.actor)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> StatsService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def import_files(
        self,
        paths: list[str | Path],
        fmt: str | None = None,
        *,
        replace: bool = False,
        source: str = "nspcc",
        release: str = "",
    ) -> list[ImportInfo]:
        return import_paths(
            self.repo,
            [str(p) for p in paths],
            fmt,
            replace=replace,
            source=source,
            release=release,
        )

    def summary(
        self, geography: str, first: str | None = None, last: str | None = None, **kw: object
    ) -> Summary:
        return self.analysis.summary(geography, first, last, **kw)  # type: ignore[arg-type]
