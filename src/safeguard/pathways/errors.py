"""Errors a user can cause when handing pathways an event log: each names file, row and column."""

from __future__ import annotations

from safeguard.errors import SafeguardError


class PathwaysInputError(SafeguardError):
    """An accounts or events file that failed validation; nothing was scored from it (or, see
    `undone`, trained)."""

    code = "invalid_event_log"

    def __init__(
        self,
        path: str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
    ) -> None:
        where = [path]
        if row is not None:
            where.append(f"row {row}" + (f" (line {line})" if line is not None else ""))
        if column is not None:
            where.append(f"column {column!r}")
        self.where = ", ".join(where)
        self.problem = message
        super().__init__(self._says("nothing was scored"))
        self.path = path
        self.row = row
        self.column = column
        self.line = line

    def undone(self, outcome: str) -> PathwaysInputError:
        """The same error, ending with what it stopped instead (e.g. "nothing was trained")."""
        e = PathwaysInputError(self.path, self.problem, self.row, self.column, self.line)
        e.message = self._says(outcome)
        e.args = (e.message,)
        return e

    def _says(self, outcome: str) -> str:
        return f"{self.where}: {self.problem}; {outcome}"


class PathwaysModelError(SafeguardError):
    """A model file that is missing or not a pathways model."""

    code = "invalid_model"
