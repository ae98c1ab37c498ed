"""The `safeguard` command: a thin Typer layer over the library API.

Errors a user can cause print as one line on stderr (exit 2); a run over files exits 1 when
any file failed; an unexpected bug prints one line too (exit 3; SAFEGUARD_DEBUG=1 shows the
traceback).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup
from typer.models import CommandInfo

from safeguard.cli.context import state
from safeguard.cli.output import err_console
from safeguard.config import Settings
from safeguard.errors import SafeguardError

# Each command's module is imported when the command is used, so `safeguard stats ...` and
# `safeguard pathways ...` never load the detection stack (PDQ, OpenCV, faiss) that `bank`,
# `hash` and `match` need, and `safeguard --help` lists every command from the summaries
# below without importing any (a test checks each is its command's own first line).
# name -> (module in safeguard.cli, attribute: a Typer app for a command group, a function
# for a single command; summary), in the order `safeguard --help` lists them.
_COMMANDS = {
    "serve": (
        "serve_cmd",
        "serve_command",
        "Serve the HTTP API: /v1 routes, HMA-compatible /h /m /c routes, /status, /metrics.",
    ),
    "hash": (
        "hash_cmd",
        "hash_command",
        "Print md5, sha256, pdq, pdq_quality, width and height of every file.",
    ),
    "match": (
        "match_cmd",
        "match_command",
        "Print, for each input, `path` (or `hash`) and its `matches` in enabled banks.",
    ),
    "demo": (
        "demo_cmd",
        "demo_command",
        "Bank photos, match edited copies and never-seen photos, and show the result.",
    ),
    "bank": ("bank_cmd", "app", "Create and curate hash banks."),
    "db": ("db_cmd", "app", "Database housekeeping."),
    "index": ("index_cmd", "app", "Index housekeeping."),
    "stats": ("stats_cmd", "app", "Police-recorded child abuse image crime statistics."),
    "keys": ("keys_cmd", "app", "API keys for `safeguard serve`."),
    "eval": ("eval_cmd", "app", "Measure detection quality."),
    "pathways": (
        "pathways_cmd",
        "app",
        "Grooming and sextortion risk from behavioural metadata (works on encrypted services).",
    ),
    "events": ("events_cmd", "app", "Events from the platform: uploads, reports, pathways flags."),
    "cases": ("cases_cmd", "app", "Cases: the review queue, claims and decisions."),
    "rules": (
        "rules_cmd",
        "app",
        "Rule sets: what happens to events (verdicts, cases, review, webhooks).",
    ),
    "users": (
        "users_cmd",
        "app",
        "Users and their roles (moderators, specialists, admins, auditors).",
    ),
    "audit": (
        "audit_cmd",
        "app",
        "The tamper-evident audit log: verify it, sign checkpoints, read it.",
    ),
    "webhooks": (
        "webhooks_cmd",
        "app",
        "Webhooks: tell the platform about verdicts and decisions.",
    ),
    "evidence": (
        "evidence_cmd",
        "app",
        "Preserved evidence: encrypted media of cases, retention clocks, legal holds.",
    ),
    "referrals": (
        "referrals_cmd",
        "app",
        "Referrals to NCMEC (CyberTipline) and the UK NCA, from decided cases.",
    ),
    "exchange": ("exchange_cmd", "app", "Exchange: publish banks to peers, follow theirs."),
    "worker": (
        "worker_cmd",
        "worker_command",
        "Deliver webhooks and run periodic tasks until SIGTERM or SIGINT (exit 0).",
    ),
}


def _load_command(name: str) -> Any:
    """The click command for `name`, from its module (what add_typer / command() would build)."""
    module, attribute, _ = _COMMANDS[name]
    target = getattr(importlib.import_module(f"safeguard.cli.{module}"), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    return typer.main.get_command_from_info(
        CommandInfo(name=name, callback=target),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )


class _LazyCommands(MutableMapping[str, Any]):
    """The root group's commands: every name is known at once, each loaded on first access.
    (Values are click commands; typer may vendor click, so they are not annotated as such.)"""

    def __init__(self, loaded: Mapping[str, Any]) -> None:
        self._loaded = dict(loaded)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in _COMMANDS:
                raise KeyError(name)
            self._loaded[name] = _load_command(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from _COMMANDS
        yield from (n for n in self._loaded if n not in _COMMANDS)

    def __len__(self) -> int:
        return len(set(_COMMANDS) | set(self._loaded))

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded


class _Listed:
    """What `safeguard --help` lists of a command whose module is not loaded: its name and
    summary (all the help formatter reads of a command)."""

    hidden = False
    deprecated = False

    def __init__(self, name: str, summary: str) -> None:
        self.name = name
        self.short_help = self.help = summary

    def get_short_help_str(self, limit: int = 45) -> str:  # click's plain formatter asks this
        return self.short_help


class _SafeguardGroup(TyperGroup):
    """Turns errors into one line on stderr and an exit code, never a traceback; loads each
    command's module when the command is used."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = _LazyCommands(self.commands)
        self.commands = self._lazy
        self._listing = False

    def list_commands(self, ctx: object) -> list[str]:
        return list(self.commands)  # names only: nothing is imported to list them

    def format_help(self, ctx, formatter) -> None:
        self._listing = True  # the commands' summaries, not their modules
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx, name):
        if self._listing and name in _COMMANDS and not self._lazy.is_loaded(name):
            return _Listed(name, _COMMANDS[name][2])
        return super().get_command(ctx, name)

    def invoke(self, ctx):
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


def _version(value: bool) -> None:
    if value:
        from safeguard._version import __version__

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
    user: str | None = typer.Option(
        None,
        "--user",
        envvar="SAFEGUARD_USER",
        help="Act for this user (`safeguard users`), with the user's roles.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    state.settings = Settings.from_env(home=home, database_url=database_url, actor=actor, user=user)


def main() -> None:
    app(prog_name="safeguard")
