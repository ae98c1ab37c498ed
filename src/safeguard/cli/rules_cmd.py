"""`safeguard rules ...`: check, apply and read the versioned rule set that decides what
happens to events, and see how each rule (live or in shadow mode) did."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import typer
from rich.table import Table

from safeguard.cli.context import state
from safeguard.cli.output import err_console, out_console, print_json
from safeguard.errors import InvalidRequest, RulesInvalid
from safeguard.rules import RuleReport, RuleSet, RuleStore, parse_moment
from safeguard.store import Database

app = typer.Typer(
    help="Rule sets: what happens to events (verdicts, cases, review, webhooks).",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON.")
FILE = typer.Argument(..., help="A YAML rule set (format: docs/moderation.md).")


def _store() -> RuleStore:
    db = Database.open(state.get_settings().database_url)
    return RuleStore(db, state.actor(db))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"{path}: not UTF-8 text") from None
    except OSError as e:
        raise InvalidRequest(f"cannot read {path}: {e.strerror or e}") from None


def _problems(path: Path, error: RulesInvalid, json_output: bool) -> typer.Exit:
    """Print every problem of a rule set that did not validate; the exit to raise."""
    if json_output:
        problems = [{"line": n, "message": m} for n, m in error.problems]
        print_json({"ok": False, "problems": problems})
    else:
        for n, message in error.problems:
            where = f"{path}: line {n}" if n else str(path)
            err_console.print(f"{where}: {message}", markup=False, highlight=False)
    return typer.Exit(2)


def _summary(ruleset: RuleSet) -> dict[str, object]:
    return {"rules": len(ruleset.rules), "shadow": len(ruleset.shadow_names)}


@app.command("validate")
def validate(file: Path = FILE, json_output: bool = JSON) -> None:
    """Check a rule set against this store's banks; every problem with its line."""
    text = _read(file)
    store = _store()
    try:
        ruleset = store.validate(text, str(file))
    except RulesInvalid as e:
        raise _problems(file, e, json_output) from None
    finally:
        store.db.close()
    if json_output:
        print_json({"ok": True, **_summary(ruleset)})
    else:
        out_console.print(
            f"{file}: ok, {len(ruleset.rules)} rule(s), {len(ruleset.shadow_names)} in shadow mode",
            markup=False,
        )


@app.command("apply")
def apply(file: Path = FILE, json_output: bool = JSON) -> None:
    """Validate a rule set and make it the active one, as a new version (admins only).
    On any problem nothing changes."""
    text = _read(file)
    store = _store()
    try:
        ruleset = store.apply(text, str(file))
    except RulesInvalid as e:
        if not json_output:
            err_console.print("nothing was applied; the active rule set stays", markup=False)
        raise _problems(file, e, json_output) from None
    finally:
        store.db.close()
    if json_output:
        print_json({"ok": True, "version": ruleset.version, **_summary(ruleset)})
    else:
        out_console.print(
            f"applied rule set version {ruleset.version}: {len(ruleset.rules)} rule(s), "
            f"{len(ruleset.shadow_names)} in shadow mode",
            markup=False,
        )


@app.command("show")
def show(
    version: int | None = typer.Option(
        None, "--version", help="A version (default: the active one; 0: the built-in)."
    ),
    json_output: bool = JSON,
) -> None:
    """Print a rule set's YAML (the active one by default); what it is goes to stderr."""
    store = _store()
    try:
        info, text = store.get(version)
    finally:
        store.db.close()
    if json_output:
        print_json({**info.to_json(), "text": text})
        return
    if info.built_in:
        what = "the built-in default rule set" + (
            " (active: no rule set was ever applied)" if info.active else " (not active)"
        )
    else:
        when = f"{info.applied_at:%Y-%m-%d %H:%M:%S} UTC" if info.applied_at else "?"
        what = (
            f"rule set version {info.version} ({'active' if info.active else 'not active'}), "
            f"applied {when} by {info.applied_by}"
        )
    err_console.print(f"# {what}", markup=False, highlight=False)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command("history")
def history(json_output: bool = JSON) -> None:
    """Every version applied, newest first, and the built-in default (version 0)."""
    store = _store()
    try:
        infos = store.history()
    finally:
        store.db.close()
    if json_output:
        print_json([i.to_json() for i in infos])
        return
    table = Table("version", "active", "applied")
    table.add_column("rules", min_width=_widest(n for i in infos for n in i.rules))
    table.add_column("shadow")
    for i in infos:
        table.add_row(
            str(i.version),
            "yes" if i.active else "",
            f"{i.applied_at:%Y-%m-%d %H:%M} by {i.applied_by}" if i.applied_at else "built-in",
            "\n".join(i.rules),
            "\n".join(i.shadow),
        )
    out_console.print(table)


@app.command("report")
def report(
    since: str = typer.Option(
        "7d", "--since", help="Start: a duration ago (7d, 24h) or a date/time (ISO, UTC)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="End (default: now): a duration ago or a date/time."
    ),
    json_output: bool = JSON,
) -> None:
    """How each rule did: events and accounts it hit, its verdicts, how often a shadow rule
    disagreed with the actual verdict, and accounts later confirmed by a reviewer."""
    start = parse_moment(since, "--since")
    end = parse_moment(until, "--until") if until is not None else None
    store = _store()
    try:
        rows = store.report(start, end)
    finally:
        store.db.close()
    if json_output:
        print_json(
            {
                "since": start.isoformat(),
                "until": end.isoformat() if end else None,
                "rules": [r.to_json() for r in rows],
            }
        )
        return
    if not rows:
        err_console.print("no rule fired in this window", markup=False)
        return
    out_console.print(_table(rows))


def _table(rows: list[RuleReport]) -> Table:
    table = Table()
    table.add_column("rule", min_width=_widest(r.rule for r in rows))
    for name in ("mode", "hits", "events", "accounts", "verdicts", "changed", "confirmed"):
        table.add_column(name)
    for r in rows:
        changed = (
            f"{r.changed_verdict} ({r.stricter} stricter, {r.looser} looser)"
            if r.changed_verdict is not None
            else ""
        )
        table.add_row(
            r.rule,
            "shadow" if r.shadow else "live",
            str(r.hits),
            str(r.events),
            str(r.accounts),
            ", ".join(f"{v} {n}" for v, n in r.verdicts.items()),
            changed,
            str(r.confirmed),
        )
    return table


def _widest(names: Iterable[str]) -> int:
    """A width that keeps rule names whole (they are what a reader looks for)."""
    return min(max((len(n) for n in names), default=4), 40)
