"""`safeguard keys ...`: create, list and revoke API keys for the HTTP service."""

from __future__ import annotations

import typer
from rich.table import Table

from safeguard.access import SCOPES, KeyService
from safeguard.cli.context import state
from safeguard.cli.output import err_console, out_console, print_json
from safeguard.store import Database

app = typer.Typer(help="API keys for `safeguard serve`.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON.")


def _service() -> KeyService:
    settings = state.get_settings()
    return KeyService(Database.open(settings.database_url), settings.actor)


@app.command("create")
def create(
    name: str,
    scope: list[str] = typer.Option(
        ..., "--scope", "-s", help=f"What the key may do (repeat): {', '.join(SCOPES)}."
    ),
    rate_limit: int | None = typer.Option(
        None, "--rate-limit", help="Requests per minute (default: the server's limit)."
    ),
    user: str | None = typer.Option(
        None, "--user", help="The user this key acts for (its roles decide what it may see)."
    ),
    json_output: bool = JSON,
) -> None:
    """Create a key. Its secret is printed once: store it now."""
    scopes = [s for item in scope for s in item.split(",")]
    svc = _service()
    try:
        new = svc.create(name, scopes, rate_limit=rate_limit, user=user)
    finally:
        svc.db.close()
    if json_output:
        print_json({**new.info.to_json(), "key": new.token})
        return
    out_console.print(new.token, markup=False)
    err_console.print(
        f"created key {name!r} with scopes {', '.join(new.info.scopes)}; "
        "the secret above is not stored and cannot be shown again"
    )


@app.command("list")
def list_keys(
    all_keys: bool = typer.Option(False, "--all", help="Include revoked keys."),
    json_output: bool = JSON,
) -> None:
    """List keys (never their secrets)."""
    svc = _service()
    try:
        keys = svc.list(include_revoked=all_keys)
    finally:
        svc.db.close()
    if json_output:
        print_json([k.to_json() for k in keys])
        return
    table = Table("name", "prefix", "scopes", "rate limit", "created", "revoked")
    for k in keys:
        table.add_row(
            k.name,
            k.prefix,
            ",".join(k.scopes),
            str(k.rate_limit or "default"),
            f"{k.created_at:%Y-%m-%d %H:%M} by {k.created_by}",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    out_console.print(table)


@app.command("revoke")
def revoke(name: str, json_output: bool = JSON) -> None:
    """Revoke a key: servers refuse it within seconds."""
    svc = _service()
    try:
        info = svc.revoke(name)
    finally:
        svc.db.close()
    if json_output:
        print_json(info.to_json())
    else:
        out_console.print(f"revoked key {name!r}")
