"""Pages as HTML: the Jinja2 templates, navigation by role, one-shot flash messages, and
HTML error pages for library errors (a moderator never sees JSON or a traceback).

`HtmlRoute` is the route class of every /ui router: a `SafeguardError` raised by a page
becomes a page saying what went wrong, with the status the API would give; a form post
that fails goes back where it came from with the message shown at the top.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from safeguard import __version__
from safeguard.api.errors import _STATUS
from safeguard.errors import Forbidden, InvalidRequest, SafeguardError
from safeguard.web.session import PREFIX, BadForm, LoginRequired, Viewer

log = logging.getLogger("safeguard.web")

FLASH = "sg_flash"

#: the navigation: (label, path, who sees it: any of these roles; empty: everyone)
NAV = (
    ("Dashboard", "/ui/", ("moderator", "child_safety", "admin")),
    ("Queue", "/ui/queue", ("moderator", "child_safety", "admin")),
    ("Banks", "/ui/banks", ("moderator", "child_safety", "admin")),
    ("Rules", "/ui/rules", ("admin",)),
    ("Referrals", "/ui/referrals", ("child_safety", "admin")),
    ("Statistics", "/ui/stats", ()),
)


def ago(t: datetime | None, now: datetime | None = None) -> str:
    """'4 min', '3 h', '2 d': how long ago, for tables."""
    if t is None:
        return ""
    now = now or datetime.now(UTC)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    s = max(0, int((now - t).total_seconds()))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400 * 2:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def stamp(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if t else ""


_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["ago"] = ago
_env.filters["stamp"] = stamp
_env.globals["version"] = __version__


def nav_for(roles: frozenset[str]) -> list[tuple[str, str]]:
    return [(label, path) for label, path, who in NAV if not who or roles & set(who)]


def page(
    request: Request,
    template: str,
    who: Viewer | None = None,
    *,
    status: int = 200,
    title: str = "",
    **context: Any,
) -> HTMLResponse:
    """Render `template` for `who` (None: the login page), with the flash message if any."""
    flash = _read_flash(request)
    html = _env.get_template(template).render(
        request=request,
        who=who,
        nav=nav_for(who.roles) if who else [],
        csrf=who.session.csrf if who else "",
        flash=flash,
        title=title,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if flash is not None:
        response.delete_cookie(FLASH, path=PREFIX)
    return response


def fragment(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)


def redirect(request: Request, to: str, message: str = "", *, error: bool = False) -> Response:
    """303 to `to` (a /ui path), with a message shown once at the top of the next page."""
    if not to.startswith(f"{PREFIX}/") or to.startswith("//"):
        to = f"{PREFIX}/"
    response = RedirectResponse(to, status_code=303)
    if message:
        value = quote(("!" if error else "") + message[:400])
        response.set_cookie(
            FLASH, value, path=PREFIX, httponly=True, samesite="strict", secure=_secure(request)
        )
    return response


def _secure(request: Request) -> bool:
    return bool(request.app.state.runtime.service.ui_secure_cookies)


def _read_flash(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH)
    if not raw:
        return None
    text = unquote(raw)[:401]
    return {"error": text.startswith("!"), "text": text.lstrip("!")}


def error_page(request: Request, e: SafeguardError, who: Viewer | None = None) -> Response:
    if isinstance(e, LoginRequired):
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)
        return redirect(request, f"{PREFIX}/login", "your session has ended: log in again")
    status = 403 if isinstance(e, BadForm) else _STATUS.get(e.code, 400)
    return page(
        request, "error.html", who, status=status, title=f"{status}", message=e.message, code=e.code
    )


class HtmlRoute(APIRoute):
    """The route class of /ui routers: library errors as HTML pages (above)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SafeguardError as e:
                return error_page(request, e, getattr(request.state, "viewer", None))
            except RequestValidationError as e:
                wrong = "; ".join(
                    f"{'.'.join(str(p) for p in err.get('loc', ())[1:])}: {err.get('msg')}"
                    for err in e.errors()[:5]
                )
                bad = InvalidRequest(f"this address has a wrong value ({wrong})")
                return error_page(request, bad, getattr(request.state, "viewer", None))

        return route


def after_post(
    request: Request,
    back: str,
    action: Callable[[], str],
    then: str | Callable[[], str] | None = None,
) -> Response:
    """Run a form's library call and go on to `then` (default `back`; a function: asked
    after the call, for a page the call made) saying what it did, or back to `back` saying
    what was wrong with the request (a refusal by role is a 403 page, not a message)."""
    try:
        message = action()
    except (LoginRequired, BadForm, Forbidden):
        raise
    except SafeguardError as e:
        return redirect(request, back, e.message, error=True)
    to = then() if callable(then) else then
    return redirect(request, to or back, message)
