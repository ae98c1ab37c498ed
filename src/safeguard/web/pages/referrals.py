"""Referrals (child-safety specialists and admins; the ReferralService checks): the list with
failures first, one referral with what it holds and what it still lacks, approving and
sending it, and building a draft from a decided case (docs/referrals.md)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from safeguard.audit.reader import AuditReader
from safeguard.errors import SafeguardError
from safeguard.refer.gather import GatherOptions
from safeguard.refer.nca import nca_summary
from safeguard.refer.service import ReferralInfo
from safeguard.store.referral_tables import REFERRAL_STATES
from safeguard.web.render import HtmlRoute, after_post, page
from safeguard.web.session import Posted, Viewer, posted, viewer

router = APIRouter(route_class=HtmlRoute)

AGENCY_NAMES = {"ncmec": "NCMEC CyberTipline", "nca": "UK National Crime Agency"}


class NotSent(SafeguardError):
    """A submit the agency did not complete: recorded on the referral by the library, shown
    here as an error message."""

    code = "not_sent"


@router.get("/referrals", response_class=HTMLResponse)
def referrals(
    request: Request, state: str = "", case_id: str = "", who: Viewer = Depends(viewer)
) -> Response:
    """Every referral (or one state's, or one case's), newest first; failures above."""
    svc = who.sg.referrals_for(who.actor)
    case = int(case_id) if case_id.strip().isdigit() else None
    return page(
        request,
        "referrals.html",
        who,
        title="Referrals",
        rows=svc.list(case_id=case, state=state or None),
        failed=svc.failed(),
        state=state,
        case_id=case,
        states=REFERRAL_STATES,
        agencies=AGENCY_NAMES,
    )


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
def referral(
    request: Request, referral_id: int, show: str = "", who: Viewer = Depends(viewer)
) -> Response:
    """One referral: a summary of what it sends (the payload itself on request), what it
    lacks, its steps, and what may be done next."""
    svc = who.sg.referrals_for(who.actor)
    info, payload = svc.get(referral_id)
    steps = None
    if who.actor.may_read_audit():  # every step is in the audit log (admins read it)
        steps = AuditReader(who.sg.db, who.actor).entries(
            subject=f"referral:{referral_id}", action="referral.*", limit=200
        )
    return page(
        request,
        "referral.html",
        who,
        title=f"Referral {referral_id}",
        r=info,
        payload=payload if show == "payload" else None,
        payload_kb=len(payload.encode()) / 1024,
        summary=nca_summary(json.loads(payload)) if info.agency == "nca" else None,
        steps=steps,
        recommended=svc.recommended(referral_id),
        agencies=AGENCY_NAMES,
    )


@router.post("/referrals/{referral_id}/approve")
def approve(request: Request, referral_id: int, form: Posted = Depends(posted)) -> Response:
    svc = form.who.sg.referrals_for(form.who.actor)

    def act() -> str:
        done = svc.approve(referral_id)
        return f"referral {done.id} approved by {done.approved_by}: it can be sent"

    return after_post(request, f"/ui/referrals/{referral_id}", act)


@router.post("/referrals/{referral_id}/submit")
def submit(request: Request, referral_id: int, form: Posted = Depends(posted)) -> Response:
    """Send an approved referral, or send again one that failed or was interrupted
    (`resubmit`: one interrupted before the agency's report id was stored, after checking
    with the agency that it holds no report)."""
    svc = form.who.sg.referrals_for(form.who.actor)
    resubmit = form.text("resubmit") == "1"

    def act() -> str:
        done = svc.submit(referral_id, resubmit=resubmit)
        if done.state != "finished":
            raise NotSent(
                f"referral {done.id} was not sent ({done.state}): "
                f"{done.error_kind or 'error'}: {done.last_error}"
            )
        report = f", report id {done.report_id}" if done.report_id else ""
        return f"referral {done.id} sent to the {done.agency.upper()}{report}"

    return after_post(request, f"/ui/referrals/{referral_id}", act)


@router.post("/cases/{case_id}/referrals")
def build(request: Request, case_id: int, form: Posted = Depends(posted)) -> Response:
    """A draft referral of a decided case to the agency chosen; on to the draft, to see what
    it still lacks."""
    who = form.who
    svc = who.sg.referrals_for(who.actor)
    options = GatherOptions(
        additional_info=form.text("info")[:5000],
        industry_classification=form.text("classification") or None,
    )
    made: list[ReferralInfo] = []

    def act() -> str:
        made.append(svc.build(case_id, form.text("agency"), options)[0])
        return _built(made[0])

    return after_post(
        request, f"/ui/cases/{case_id}", act, then=lambda: f"/ui/referrals/{made[0].id}"
    )


def _built(r: ReferralInfo) -> str:
    lacks = f": it lacks {', '.join(r.missing)}" if r.missing else ": ready for approval"
    return f"draft referral {r.id} to the {r.agency.upper()} built{lacks}"
