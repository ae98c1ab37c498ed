"""`safeguard db ...`: where the store is and which schema revision it holds."""

from __future__ import annotations

import typer

from safeguard.cli.context import state
from safeguard.cli.output import out_console, print_json
from safeguard.engine import redacted_url
from safeguard.store import SCHEMA_REVISION, Database

app = typer.Typer(help="Database housekeeping.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(json_output: bool = typer.Option(False, "--json")) -> None:
    """Create the schema or upgrade it to the newest revision."""
    db = Database.open(state.get_settings().database_url, migrate=False)
    try:
        was = db.revision()
        db.migrate()
        now = db.revision()
    finally:
        db.close()
    if json_output:
        print_json({"from_revision": was, "revision": now, "upgraded": was != now})
    elif was == now:
        out_console.print(f"schema already at revision {now}")
    else:
        out_console.print(f"schema upgraded from revision {was or 'none'} to {now}")


@app.command("info")
def info(json_output: bool = typer.Option(False, "--json")) -> None:
    """Show the database URL (password hidden) and schema revision."""
    settings = state.get_settings()
    db = Database.open(settings.database_url, migrate=False)
    data = {
        "home": str(settings.home),
        "database_url": redacted_url(settings.database_url),
        "revision": db.revision(),
        "latest_revision": SCHEMA_REVISION,
    }
    db.close()
    if json_output:
        print_json(data)
    else:
        for k, v in data.items():
            out_console.print(f"{k}: {v}", highlight=False)
