"""`safeguard stats ...`: recorded-crime statistics (issue #6)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Police-recorded child abuse image crime statistics.", no_args_is_help=True)
