"""Logging in (password, then the TOTP code when the user has one) and out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from safeguard.api.auth import client_address
from safeguard.errors import AccessDenied
from safeguard.web.render import HtmlRoute, page, redirect
from safeguard.web.session import COOKIE, PREFIX, Posted, login_service, posted

router = APIRouter(route_class=HtmlRoute)


def _next(target: str) -> str:
    """Only a path of this UI: never another site (an open redirect)."""
    ok = target.startswith(f"{PREFIX}/") and not target.startswith("//") and "\\" not in target
    return target if ok else f"{PREFIX}/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> Response:
    return page(request, "login.html", title="Log in", next=_next(next), name="")


@router.post("/login")
async def login(
    request: Request,
    name: str = Form("", max_length=100),
    password: str = Form("", max_length=1024),
    code: str = Form("", max_length=12),
    next: str = Form(""),
) -> Response:
    service = login_service(request)
    client = client_address(request.scope)
    try:
        done = await run_in_threadpool(service.login, name, password, code, client=client)
    except AccessDenied as e:
        return page(
            request,
            "login.html",
            status=401,
            title="Log in",
            next=_next(next),
            name=name,
            error=e.message,
        )
    response = RedirectResponse(_next(next), status_code=303)
    rt = request.app.state.runtime
    response.set_cookie(
        COOKIE,
        done.token,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=rt.service.ui_secure_cookies,
    )
    return response


@router.post("/logout")
def logout(request: Request, form: Posted = Depends(posted)) -> Response:
    login_service(request).logout(form.who.token)
    response = redirect(request, f"{PREFIX}/login", "you have logged out")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response
