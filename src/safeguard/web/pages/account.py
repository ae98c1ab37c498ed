"""One's own settings: how strongly previews are blurred, the password, the second factor."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from safeguard.access.logins import PREFERENCES
from safeguard.errors import InvalidRequest
from safeguard.web.render import HtmlRoute, after_post, page
from safeguard.web.session import Posted, Viewer, posted, viewer

router = APIRouter(route_class=HtmlRoute)


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, who: Viewer = Depends(viewer)) -> Response:
    low, high, _ = PREFERENCES["blur"]
    return page(
        request,
        "account.html",
        who,
        title="Your settings",
        prefs=who.session.preferences,
        blur_range=(low, high),
    )


@router.post("/account/blur")
def set_blur(request: Request, form: Posted = Depends(posted)) -> Response:
    who = form.who

    def act() -> str:
        raw = form.text("blur")
        if not raw.lstrip("-").isdigit():
            raise InvalidRequest("the blur strength is a whole number")
        who.logins().set_preference(who.name, "blur", int(raw))
        return f"previews are now blurred at strength {int(raw)}"

    return after_post(request, "/ui/account", act)


@router.post("/account/password")
def set_password(request: Request, form: Posted = Depends(posted)) -> Response:
    who = form.who

    def act() -> str:
        if form.text("password") != form.text("again"):
            raise InvalidRequest("the two passwords differ")
        who.logins().set_password(who.name, form.text("password"))
        return "password changed: log in again with the new one"

    return after_post(request, "/ui/account", act, then="/ui/login")


@router.post("/account/totp")
def set_totp(request: Request, form: Posted = Depends(posted)) -> Response:
    """Turn the second factor on (showing the secret once) or off."""
    who = form.who
    if form.text("enable"):
        secret, uri = who.logins().enable_totp(who.name)
        return page(request, "totp.html", who, title="Second factor", secret=secret, uri=uri)

    def act() -> str:
        who.logins().disable_totp(who.name)
        return "the second factor is off"

    return after_post(request, "/ui/account", act)


@router.get("/help", response_class=HTMLResponse)
def shortcuts(request: Request, who: Viewer = Depends(viewer)) -> Response:
    return page(request, "help.html", who, title="Keyboard shortcuts")
