"""`safeguard eval ...`: measure detection quality (issue #5)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Measure detection quality.", no_args_is_help=True)
