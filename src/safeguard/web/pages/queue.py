"""The review queue: active cases by priority and age, filtered, a page at a time; claim
from the list."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from safeguard.review import QueueFilter
from safeguard.review.queue import AGE_BANDS
from safeguard.web.render import HtmlRoute, after_post, page
from safeguard.web.session import Posted, Viewer, posted, viewer

router = APIRouter(route_class=HtmlRoute)

PAGE = 50


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    bank: str = "",
    rule: str = "",
    age_band: str = "",
    reason: str = "",
    page_no: int = 1,
    who: Viewer = Depends(viewer),
) -> Response:
    f = QueueFilter(bank=bank, rule=rule, age_band=age_band, reason=reason)
    cases = who.sg.cases_for(who.actor)
    result = cases.queue(f, offset=(max(1, page_no) - 1) * PAGE, limit=PAGE)
    return page(
        request,
        "queue.html",
        who,
        title="Review queue",
        q=result,
        f=f,
        page_no=max(1, page_no),
        pages=max(1, -(-result.total // PAGE)),
        banks=[b.name for b in who.sg.banks_for(who.actor.name).list()],
        rules=sorted({r.name for r in who.sg.active_rules().rules}),
        age_bands=AGE_BANDS,
        me=who.actor.user,
    )


@router.post("/cases/{case_id}/claim")
def claim(request: Request, case_id: int, form: Posted = Depends(posted)) -> Response:
    who = form.who
    cases = who.sg.cases_for(who.actor)
    return after_post(
        request,
        f"/ui/cases/{case_id}",
        lambda: f"you claimed case {cases.claim(case_id).id}",
    )


@router.post("/cases/{case_id}/release")
def release(request: Request, case_id: int, form: Posted = Depends(posted)) -> Response:
    who = form.who
    cases = who.sg.cases_for(who.actor)
    return after_post(
        request, "/ui/queue", lambda: f"case {cases.release(case_id).id} is back in the queue"
    )
