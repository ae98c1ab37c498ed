"""Errors a user of the statistics module can cause: each a SafeguardError with a clear message.

Import problems name the file, the row and what is wrong; all problems of one run are
reported together and nothing of that run is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from safeguard.errors import SafeguardError


class StatsError(SafeguardError):
    """A statistics request that cannot be answered as asked."""

    code = "stats_error"


class UnknownGeography(StatsError):
    code = "unknown_geography"


class NoFigures(StatsError):
    code = "no_figures"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where (file, row, column) and what."""

    file: str
    row: int | None
    message: str
    sheet: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.sheet:
            where += f" sheet {self.sheet!r}"
        if self.row is not None:
            where += f" row {self.row}"
        return f"{where}: {self.message}"


class StatsImportError(StatsError):
    """Files that failed validation: nothing from any of them was imported."""

    code = "invalid_stats_file"

    def __init__(self, problems: list[Problem], shown: int = 20) -> None:
        files = sorted({p.file for p in problems})
        lines = [str(p) for p in problems[:shown]]
        if len(problems) > shown:
            lines.append(f"... and {len(problems) - shown} more")
        head = (
            f"{len(problems)} problem(s) in {', '.join(files)}; nothing was imported"
            if len(problems) > 1
            else lines[0] + " (nothing was imported)"
        )
        message = head if len(problems) == 1 else head + "\n  " + "\n  ".join(lines)
        super().__init__(message)
        self.problems = problems
