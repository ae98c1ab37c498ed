"""`safeguard cases ...`: the review queue, a case's timeline, claims and decisions; and
bank entries paused by flood quarantine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from safeguard.cli.context import state
from safeguard.cli.output import out_console, print_json

if TYPE_CHECKING:
    from safeguard.engine import Safeguard
    from safeguard.review import CaseService

app = typer.Typer(help="Cases: the review queue, claims and decisions.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON.")


def _service() -> tuple[Safeguard, CaseService]:
    sg = state.open()
    return sg, sg.cases_for(state.actor(sg.db))


@app.command("list")
def list_cases(
    case_state: str | None = typer.Option(
        None,
        "--state",
        help="open, in_review, decided, referred, closed, or active (open or in review).",
    ),
    account: str | None = typer.Option(None, "--account", help="Only this account's cases."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    json_output: bool = JSON,
) -> None:
    """Cases you may see, highest priority and oldest first."""
    sg, svc = _service()
    try:
        cases = svc.list(state=case_state, account_id=account, limit=limit)
    finally:
        sg.close()
    if json_output:
        print_json([c.to_json() for c in cases])
        return
    for c in cases:
        who = f" claimed by {c.claimed_by}" if c.claimed_by else ""
        out_console.print(
            f"case {c.id} [{c.state}] p{c.priority} {c.account_id}: {c.items} item(s){who}",
            markup=False,
        )


@app.command("show")
def show(case_id: int, json_output: bool = JSON) -> None:
    """A case and everything it gathered (viewing a child-safety case is audited)."""
    sg, svc = _service()
    try:
        detail = svc.get(case_id)
    finally:
        sg.close()
    if json_output:
        print_json(detail.to_json())
        return
    c = detail.case
    out_console.print(
        f"case {c.id} [{c.state}] account {c.account_id} priority {c.priority}", markup=False
    )
    for i in detail.items:
        where = (
            f" {i.bank}#{i.content_id} {i.signal_type} d={i.distance}" if i.kind == "match" else ""
        )
        out_console.print(f"  {i.at:%Y-%m-%d %H:%M:%S} {i.kind}{where}", markup=False)


@app.command("claim")
def claim(case_id: int, json_output: bool = JSON) -> None:
    """Take a case for review (nobody else can decide it while you hold it)."""
    sg, svc = _service()
    try:
        info = svc.claim(case_id)
    finally:
        sg.close()
    print_json(info.to_json()) if json_output else out_console.print(f"claimed case {info.id}")


@app.command("release")
def release(case_id: int, json_output: bool = JSON) -> None:
    """Give a claimed case back to the queue."""
    sg, svc = _service()
    try:
        info = svc.release(case_id)
    finally:
        sg.close()
    print_json(info.to_json()) if json_output else out_console.print(
        f"case {info.id} is {info.state}"
    )


@app.command("decide")
def decide(
    case_id: int,
    decision: str = typer.Option(..., "--decision", help="confirmed, not_abuse or escalate."),
    add_to_bank: str | None = typer.Option(
        None, "--add-to-bank", help="confirmed: add the case's media hashes to this bank."
    ),
    negative_bank: str | None = typer.Option(
        None,
        "--negative-bank",
        help="not_abuse: the negative bank to add them to (default not-abuse).",
    ),
    note: str = typer.Option("", "--note", help="Why (kept with the decision)."),
    json_output: bool = JSON,
) -> None:
    """Decide a case; the first decision wins, a second gets a conflict naming it."""
    sg, svc = _service()
    try:
        result = svc.decide(
            case_id, decision, add_to_bank=add_to_bank, negative_bank=negative_bank, note=note
        )
    finally:
        sg.close()
    if json_output:
        print_json(result.to_json())
        return
    out_console.print(
        f"case {case_id}: {decision} ({len(result.added)} item(s) banked)", markup=False
    )


@app.command("quarantined")
def quarantined(
    include_released: bool = typer.Option(False, "--all", help="Include released entries."),
    json_output: bool = JSON,
) -> None:
    """Bank entries paused by flood quarantine."""
    sg = state.open()
    try:
        entries = sg.floods.list(state.actor(sg.db), include_released=include_released)
    finally:
        sg.close()
    if json_output:
        print_json([e.to_json() for e in entries])
        return
    for e in entries:
        released = f" (released by {e.released_by})" if e.released_at else ""
        out_console.print(
            f"{e.bank}#{e.content_id} since {e.since:%Y-%m-%d %H:%M}{released}: {e.reason}",
            markup=False,
        )


@app.command("release-entry")
def release_entry(content_id: int, json_output: bool = JSON) -> None:
    """Release a bank entry from flood quarantine (its matches block again)."""
    sg = state.open()
    try:
        info = sg.floods.release(content_id, state.actor(sg.db))
    finally:
        sg.close()
    print_json(info.to_json()) if json_output else out_console.print(
        f"released {info.bank}#{content_id}"
    )
