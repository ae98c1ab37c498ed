"""`safeguard referrals ...`: reports of decided cases to NCMEC's CyberTipline and the UK
NCA: build a draft, show it, approve it, send it, follow its status, list what failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from safeguard.cli.context import state
from safeguard.cli.output import out_console, print_json
from safeguard.errors import InvalidRequest

if TYPE_CHECKING:
    from safeguard.engine import Safeguard
    from safeguard.refer.service import ReferralInfo, ReferralService

app = typer.Typer(
    help="Referrals to NCMEC (CyberTipline) and the UK NCA, from decided cases.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON.")


def _service() -> tuple[Safeguard, ReferralService]:
    sg = state.open()
    return sg, sg.referrals_for(state.actor(sg.db))


def _line(r: ReferralInfo) -> str:
    head = f"referral {r.id} case {r.case_id} {r.agency} [{r.state}]"
    if r.report_id:
        head += f" report {r.report_id}"
    if r.missing:
        head += f": missing {', '.join(r.missing)}"
    if r.last_error:
        head += f": {r.error_kind}: {r.last_error}"
    return head


def _show(r: ReferralInfo, json_output: bool) -> None:
    if json_output:
        print_json(r.to_json())
    else:
        out_console.print(_line(r), markup=False)


@app.command("build")
def build(
    case_id: int,
    agency: str = typer.Option(..., "--agency", help="ncmec (CyberTipline) or nca."),
    out: Path | None = typer.Option(
        None, "--out", help="Write what would be sent here (XML for ncmec, JSON for nca)."
    ),
    incident_type: str | None = typer.Option(
        None, "--incident-type", help="CyberTipline incident type (default: from the case)."
    ),
    annotation: list[str] = typer.Option(
        [], "--annotation", help="Report annotation (sextortion, csam_solicitation, ...)."
    ),
    victim: list[str] = typer.Option([], "--victim", help="A victim's account id."),
    info: str = typer.Option("", "--info", help="Additional information for the agency."),
    account_file: Path | None = typer.Option(
        None,
        "--account-file",
        help='JSON object of account details, as an event\'s "account" (docs/referrals.md).',
    ),
    classification: str | None = typer.Option(
        None, "--classification", help="Industry classification of the files: A1, A2, B1, B2."
    ),
    json_output: bool = JSON,
) -> None:
    """Build a draft referral of a decided case; print what it still lacks."""
    from safeguard.act.inputs import account_details
    from safeguard.refer.gather import GatherOptions

    account: dict[str, object] = {}
    if account_file is not None:
        try:
            account = account_details(json.loads(account_file.read_text()))
        except (OSError, ValueError) as e:
            raise InvalidRequest(f"--account-file {account_file}: {e}") from None
    options = GatherOptions(
        incident_type=incident_type,
        annotations=tuple(annotation),
        victims=tuple(victim),
        additional_info=info,
        account=account,
        industry_classification=classification,
    )
    sg, svc = _service()
    try:
        referral, payload = svc.build(case_id, agency, options)
    finally:
        sg.close()
    if out is not None:
        out.write_text(payload)
    if json_output:
        print_json(
            {
                "referral_id": referral.id,
                "valid": referral.valid,
                "missing": referral.missing,
                "state": referral.state,
                "agency": referral.agency,
                "out": str(out) if out else None,
            }
        )
        return
    _show(referral, False)


@app.command("show")
def show(
    referral_id: int,
    payload: bool = typer.Option(False, "--payload", help="Print what is sent, not a summary."),
    summary: bool = typer.Option(
        False, "--summary", help="NCA: the record as a printable (PDF-ready) Markdown summary."
    ),
    json_output: bool = JSON,
) -> None:
    """A referral, its files and what it sends."""
    sg, svc = _service()
    try:
        referral, sent = svc.get(referral_id)
    finally:
        sg.close()
    if summary:
        from safeguard.refer.nca import nca_summary

        if referral.agency != "nca":
            raise InvalidRequest("--summary is for NCA referrals (a CyberTipline report is XML)")
        typer.echo(nca_summary(json.loads(sent)))
        return
    if payload:
        typer.echo(sent)
        return
    _show(referral, json_output)


@app.command("list")
def list_referrals(
    case_id: int | None = typer.Option(None, "--case", help="Only this case's referrals."),
    referral_state: str | None = typer.Option(None, "--state", help="Only in this state."),
    json_output: bool = JSON,
) -> None:
    """Referrals, oldest first."""
    sg, svc = _service()
    try:
        found = svc.list(case_id=case_id, state=referral_state)
    finally:
        sg.close()
    if json_output:
        print_json([r.to_json() for r in found])
        return
    for r in found:
        out_console.print(_line(r), markup=False)


@app.command("approve")
def approve(referral_id: int, json_output: bool = JSON) -> None:
    """Approve a draft (a child-safety specialist's or an admin's decision to send it)."""
    sg, svc = _service()
    try:
        _show(svc.approve(referral_id), json_output)
    finally:
        sg.close()


@app.command("submit")
def submit(
    referral_id: int,
    resubmit: bool = typer.Option(
        False,
        "--resubmit",
        help="Submit again a report interrupted before the agency's id was stored "
        "(only after checking with the agency that it holds none).",
    ),
    json_output: bool = JSON,
) -> None:
    """Send an approved referral, or continue one that failed or was interrupted."""
    sg, svc = _service()
    try:
        referral = svc.submit(referral_id, resubmit=resubmit)
    finally:
        sg.close()
    _show(referral, json_output)
    if referral.state != "finished":
        raise typer.Exit(1)


@app.command("status")
def status(referral_id: int, json_output: bool = JSON) -> None:
    """Where a referral stands: its state, the agency's report id, each file's upload."""
    sg, svc = _service()
    try:
        referral, _ = svc.get(referral_id)
    finally:
        sg.close()
    if json_output:
        print_json(referral.to_json())
        return
    _show(referral, False)
    for f in referral.files:
        done = "described" if f["described"] else "uploaded" if f["file_id"] else "not sent"
        out_console.print(f"  file {f['name']!r}: {done}", markup=False)


@app.command("failed")
def failed(json_output: bool = JSON) -> None:
    """Referrals whose last attempt failed, with the agency's reason."""
    sg, svc = _service()
    try:
        found = svc.failed()
    finally:
        sg.close()
    if json_output:
        print_json([r.to_json() for r in found])
        return
    if not found:
        out_console.print("no failed referrals")
    for r in found:
        out_console.print(_line(r), markup=False)
