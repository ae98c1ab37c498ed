"""Errors a user can cause when handing pathways an event log: each names file, row and column."""

from __future__ import annotations

from safeguard.errors import SafeguardError


class PathwaysInputError(SafeguardError):
    """An accounts or events file that failed validation; nothing was scored (or trained) from
    it: `outcome` says which."""

    code = "invalid_event_log"

    def __init__(
        self,
        path: str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
        outcome: str = "nothing was scored",
    ) -> None:
        where = [path]
        if row is not None:
            where.append(f"row {row}" + (f" (line {line})" if line is not None else ""))
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}; {outcome}")
        self.path = path
        self.problem = message
        self.row = row
        self.column = column
        self.line = line


class PathwaysModelError(SafeguardError):
    """A model file that is missing or not a pathways model."""

    code = "invalid_model"
