"""Recorded-crime statistics (/ui/stats), for every logged-in user: a picker of nations,
regions, forces and groupings, and for the chosen area its series as a chart and a table
with the briefing `safeguard stats briefing` writes (`safeguard.stats.pages`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from safeguard.stats.pages import area_view, picker
from safeguard.stats.service import StatsService
from safeguard.web.render import HtmlRoute, page
from safeguard.web.session import Viewer, viewer

router = APIRouter(route_class=HtmlRoute)


@router.get("/stats", response_class=HTMLResponse)
def stats_page(
    request: Request,
    area: str = "",
    offence: str = "",
    source: str = "",
    who: Viewer = Depends(viewer),
) -> Response:
    view = area_view(
        StatsService(who.sg.db, who.actor.name), area[:200], offence=offence, source=source
    )
    return page(
        request,
        "stats.html",
        who,
        title=f"Statistics: {view.geography.name}",
        v=view,
        picker=picker(),
    )
