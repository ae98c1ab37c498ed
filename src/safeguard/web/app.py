"""`install(app)`: the web UI's routers, its static files and its security headers, mounted
on the API's FastAPI application when the server serves the "ui" role."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from safeguard.web.pages import (
    account,
    auth,
    banks,
    cases,
    dashboard,
    queue,
    referrals,
    rules,
    stats,
)
from safeguard.web.session import PREFIX, SecurityHeaders

PAGES = (auth, dashboard, queue, cases, banks, rules, referrals, stats, account)


def install(app: FastAPI) -> None:
    for module in PAGES:
        app.include_router(module.router, prefix=PREFIX, include_in_schema=False)
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="ui-static",
    )

    @app.get(PREFIX, include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    app.add_middleware(SecurityHeaders)
