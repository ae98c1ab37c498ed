"""`safeguard pathways ...`: grooming and sextortion risk from behavioural metadata (issue #7)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Grooming and sextortion risk from behavioural metadata (works on encrypted services).",
    no_args_is_help=True,
)
