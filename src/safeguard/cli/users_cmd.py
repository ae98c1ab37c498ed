"""`safeguard users ...`: people who review, decide and audit, and their roles."""

from __future__ import annotations

import sys

import typer

from safeguard.access.logins import LoginService
from safeguard.access.people import ROLES, UserInfo, UserService
from safeguard.cli.context import state
from safeguard.cli.output import out_console, print_json
from safeguard.store import Database

app = typer.Typer(help="Users and their roles (moderators, specialists, admins, auditors).")

JSON = typer.Option(False, "--json", help="Print JSON.")
ROLE = typer.Option(..., "--role", "-r", help=f"A role (repeat): {', '.join(ROLES)}.")


def _service() -> UserService:
    db = Database.open(state.get_settings().database_url)
    return UserService(db, state.actor(db))


def _show(user: UserInfo, json_output: bool) -> None:
    if json_output:
        print_json(user.to_json())
    else:
        out_console.print(f"{user.name}: {', '.join(user.roles)}", markup=False)


@app.command("add")
def add(
    name: str,
    role: list[str] = ROLE,
    display_name: str = typer.Option("", "--display-name", help="A name to show."),
    json_output: bool = JSON,
) -> None:
    """Add a user with one or more roles."""
    svc = _service()
    try:
        _show(
            svc.create(
                name, [r for item in role for r in item.split(",")], display_name=display_name
            ),
            json_output,
        )
    finally:
        svc.db.close()


@app.command("roles")
def roles(name: str, role: list[str] = ROLE, json_output: bool = JSON) -> None:
    """Replace a user's roles."""
    svc = _service()
    try:
        _show(svc.set_roles(name, [r for item in role for r in item.split(",")]), json_output)
    finally:
        svc.db.close()


@app.command("disable")
def disable(name: str, json_output: bool = JSON) -> None:
    """Disable a user (kept for the audit trail; its keys then carry no role)."""
    svc = _service()
    try:
        _show(svc.disable(name), json_output)
    finally:
        svc.db.close()


@app.command("list")
def list_users(json_output: bool = JSON) -> None:
    """List users and their roles."""
    svc = _service()
    try:
        users = svc.list()
    finally:
        svc.db.close()
    if json_output:
        print_json([u.to_json() for u in users])
        return
    for u in users:
        state_text = " (disabled)" if u.disabled_at else ""
        out_console.print(f"{u.name}: {', '.join(u.roles)}{state_text}", markup=False)


def _logins() -> LoginService:
    db = Database.open(state.get_settings().database_url)
    return LoginService(db, state.actor(db))


@app.command("password")
def password(
    name: str,
    from_stdin: bool = typer.Option(
        False, "--stdin", help="Read the password from the first line of standard input."
    ),
) -> None:
    """Set a user's password for the web UI (asked for twice, not echoed); ends their
    open sessions."""
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    svc = _logins()
    try:
        svc.set_password(name, secret)
    finally:
        svc.db.close()
    out_console.print(f"{name} can now log in to the web UI", markup=False)


@app.command("totp")
def totp(
    name: str,
    off: bool = typer.Option(False, "--off", help="Remove the second factor."),
    json_output: bool = JSON,
) -> None:
    """Give a user a new TOTP second factor (prints its secret and otpauth:// link once),
    or remove it with --off."""
    svc = _logins()
    try:
        if off:
            svc.disable_totp(name)
            out_console.print(f"{name} logs in with a password only", markup=False)
            return
        secret, uri = svc.enable_totp(name)
    finally:
        svc.db.close()
    if json_output:
        print_json({"user": name, "secret": secret, "uri": uri})
    else:
        out_console.print(f"secret: {secret}\nlink:   {uri}", markup=False)
