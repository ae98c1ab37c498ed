"""The dashboard (/ui/): events and their verdicts day by day, open cases by how long they
have waited, time to decision, and the webhook deliveries and referrals that failed, each
with its way to a retry. The figures come from `safeguard.review.overview`; a user who sees
no cases (an auditor) gets a page saying what they can do here instead."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from safeguard.outbox import WebhookService
from safeguard.review.overview import FAILURES_SHOWN, VERDICTS, overview
from safeguard.store.models import utcnow
from safeguard.web.render import HtmlRoute, after_post, page
from safeguard.web.session import Posted, Viewer, posted, viewer

router = APIRouter(route_class=HtmlRoute)

#: the windows offered (any 1 to 90 days works as ?days=N)
WINDOWS = (7, 14, 30, 90)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, days: int = 14, who: Viewer = Depends(viewer)) -> Response:
    if not who.sees_cases:
        return page(request, "dash_limited.html", who, title="Dashboard")
    o = overview(who.sg.db, who.actor, now=utcnow(), days=days, referrals=who.sg.referrals_for)
    return page(
        request,
        "dashboard.html",
        who,
        title="Dashboard",
        o=o,
        verdicts=VERDICTS,
        windows=sorted({*WINDOWS, o.days}),
        shown=FAILURES_SHOWN,
    )


@router.post("/webhooks/{job_id}/retry")
def retry_webhook(request: Request, job_id: int, form: Posted = Depends(posted)) -> Response:
    """Send a failed webhook job again: it goes back to pending, for `safeguard worker`."""
    hooks = WebhookService(form.who.sg.db, form.who.actor)

    def act() -> str:
        (job,) = hooks.replay(job_id)
        return f"webhook job {job.id} to {job.endpoint} is queued again: the worker sends it next"

    return after_post(request, "/ui/#webhooks", act)
