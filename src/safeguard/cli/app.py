"""The `safeguard` command: a thin Typer layer over the library API.

Errors a user can cause print as one line on stderr (exit 2); a run over files exits 1 when
any file failed; an unexpected bug prints one line too (exit 3; SAFEGUARD_DEBUG=1 shows the
traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from typer.core import TyperGroup

from safeguard import __version__
from safeguard.cli import (
    bank_cmd,
    db_cmd,
    demo_cmd,
    eval_cmd,
    hash_cmd,
    keys_cmd,
    match_cmd,
    pathways_cmd,
    serve_cmd,
    stats_cmd,
)
from safeguard.cli.context import state
from safeguard.cli.output import err_console
from safeguard.config import Settings
from safeguard.errors import SafeguardError


class _SafeguardGroup(TyperGroup):
    """Turns errors into one line on stderr and an exit code, never a traceback."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except SafeguardError as e:
            err_console.print(f"error: {e.message}", markup=False, highlight=False)
            ctx.exit(2)
        except KeyboardInterrupt:
            err_console.print("interrupted", markup=False)
            ctx.exit(130)
        except BrokenPipeError:
            # the reader went away (`safeguard hash dir | head`): stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)
        except Exception as e:
            if _is_cli_control(e) or os.environ.get("SAFEGUARD_DEBUG"):
                raise
            msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
            err_console.print(
                f"internal error: {type(e).__name__}: {msg} (set SAFEGUARD_DEBUG=1 for details)",
                markup=False,
                highlight=False,
            )
            ctx.exit(3)
        return None


def _is_cli_control(e: Exception) -> bool:
    """Typer's (and click's) own exceptions: exits, aborts and usage errors."""
    return type(e).__module__.split(".")[0] in ("typer", "click")


app = typer.Typer(
    name="safeguard",
    cls=_SafeguardGroup,
    help="Hash content, keep hash banks of known abuse imagery, and match uploads against them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(bank_cmd.app, name="bank")
app.add_typer(db_cmd.app, name="db")
app.add_typer(stats_cmd.app, name="stats")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(pathways_cmd.app, name="pathways")
app.command("serve")(serve_cmd.serve_command)
app.command("hash")(hash_cmd.hash_command)
app.command("match")(match_cmd.match_command)
app.command("demo")(demo_cmd.demo_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"safeguard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    home: Path | None = typer.Option(
        None, "--home", envvar="SAFEGUARD_HOME", help="Directory holding all state."
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="SAFEGUARD_DATABASE_URL",
        help="SQLAlchemy URL (default: SQLite file in --home).",
    ),
    actor: str | None = typer.Option(
        None, "--actor", envvar="SAFEGUARD_ACTOR", help="Who is recorded as making changes."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    state.settings = Settings.from_env(home=home, database_url=database_url, actor=actor)


def main() -> None:
    app(prog_name="safeguard")
