"""`safeguard audit ...`: verify the tamper-evident audit log, sign checkpoints, read it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from safeguard.access.people import Actor
from safeguard.audit.checkpoints import checkpoint
from safeguard.audit.reader import MAX_LIMIT, AuditReader
from safeguard.audit.verify import verify
from safeguard.cli.context import state
from safeguard.cli.output import out_console, print_json
from safeguard.store import Database

app = typer.Typer(
    help="The tamper-evident audit log: verify it, sign checkpoints, read it.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON.")
T = TypeVar("T")


def _run(work: Callable[[Database, Actor], T]) -> T:
    """`work` on the store, for whoever the command acts for (`--user` or the operator)."""
    db = Database.open(state.get_settings().database_url)
    try:
        return work(db, state.actor(db))
    finally:
        db.close()


@app.command("verify")
def verify_command(
    checkpoints: Path | None = typer.Option(
        None,
        "--checkpoints",
        help="Also check the checkpoints in this file (a copy of checkpoints.jsonl kept apart).",
    ),
    json_output: bool = JSON,
) -> None:
    """Check the hash chain and every signed checkpoint. Exits 1 when the log was tampered
    with."""
    settings = state.get_settings()
    report = _run(
        lambda db, actor: verify(db, settings, extra_checkpoints=checkpoints, actor=actor)
    )
    if json_output:
        print_json(report.to_json())
    else:
        out_console.print(report.summary(), markup=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint_command(json_output: bool = JSON) -> None:
    """Sign the log's head with the audit key (none when nothing was added since the last)."""
    settings = state.get_settings()
    cp = _run(lambda db, actor: checkpoint(db, settings, actor=actor))
    if json_output:
        print_json(cp.to_json())
    else:
        out_console.print(f"signed {cp.describe()}, head {cp.head_hash}", markup=False)


@app.command("list")
def list_command(
    after: int = typer.Option(0, "--after", help="Entries after this seq (paging)."),
    limit: int = typer.Option(100, "--limit", help=f"At most this many entries (1-{MAX_LIMIT})."),
    subject: str | None = typer.Option(None, "--subject", help="Only about this: bank:NAME..."),
    action: str | None = typer.Option(
        None, "--action", help="Only this action; 'bank.*' for every bank action."
    ),
    by: str | None = typer.Option(None, "--by", help="Only by this actor: user:alice..."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """List audit entries, oldest first (admins and auditors only)."""
    entries = _run(
        lambda db, actor: AuditReader(db, actor).entries(
            after_seq=after, limit=limit, subject=subject, action=action, actor_name=by
        )
    )
    for e in entries:
        if json_output:
            print_json(e.to_json())
        else:
            detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
            out_console.print(
                f"{e.seq:>6}  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor}  {e.action}  {e.subject}  "
                f"{detail}".rstrip(),
                markup=False,
            )
