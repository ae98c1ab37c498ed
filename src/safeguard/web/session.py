"""Who is asking: the session cookie read into a `Viewer`, form posts checked for their CSRF
token and origin, and the security headers every /ui response carries.

The cookie holds a random token (HttpOnly, SameSite=Strict, Secure unless
SAFEGUARD_UI_INSECURE_COOKIES); the database holds its SHA-256 (`safeguard.access.logins`).
A form post must carry the session's CSRF token and, when the browser sends one, an
`Origin` of this server: a page on another site can neither read the token nor forge it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safeguard.access.logins import LoginService, WebSession
from safeguard.access.people import Actor
from safeguard.engine import Safeguard
from safeguard.errors import SafeguardError

COOKIE = "sg_session"
PREFIX = "/ui"

#: what every /ui response says to the browser
HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class LoginRequired(SafeguardError):
    """No live session: the page sends the browser to the login form."""

    code = "login_required"


class BadForm(SafeguardError):
    """A form post without this session's CSRF token, or from another origin."""

    code = "forbidden"


@dataclass(frozen=True)
class Viewer:
    """The person behind a request, their session and the engine to act on."""

    sg: Safeguard
    session: WebSession
    token: str
    runtime: Any  # safeguard.api.runtime.Runtime (not imported: the API imports this)

    @property
    def actor(self) -> Actor:
        return self.session.actor

    @property
    def name(self) -> str:
        return self.session.user.name

    @property
    def roles(self) -> frozenset[str]:
        return self.actor.roles

    @property
    def sees_cases(self) -> bool:
        return bool(self.roles & {"moderator", "child_safety", "admin"})

    def logins(self) -> LoginService:
        return LoginService(self.sg.db, self.actor, idle=self.idle)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.runtime.service.ui_idle_minutes)


def login_service(request: Request) -> LoginService:
    """Logins as the server process is configured (the idle timeout)."""
    rt = request.app.state.runtime
    return LoginService(rt.sg.db, idle=timedelta(minutes=rt.service.ui_idle_minutes))


def viewer(request: Request) -> Viewer:
    """The dependency of every page but the login form: LoginRequired without a session."""
    token = request.cookies.get(COOKIE, "")
    session = login_service(request).session(token) if token else None
    if session is None:
        raise LoginRequired("please log in")
    who = Viewer(request.app.state.runtime.sg, session, token, request.app.state.runtime)
    request.state.viewer = who  # for the navigation of an error page
    return who


@dataclass(frozen=True)
class Posted:
    """A checked form post: who sent it and its fields."""

    who: Viewer
    form: FormData

    def text(self, name: str, default: str = "") -> str:
        value = self.form.get(name, default)
        return value.strip() if isinstance(value, str) else default


async def posted(request: Request) -> Posted:
    """The dependency of every form post: a live session, its CSRF token, our origin."""
    who = await run_in_threadpool(viewer, request)
    form = await request.form()
    check_form(request, form, who)
    return Posted(who, form)


def check_form(request: Request, form: FormData, who: Viewer) -> None:
    """BadForm unless the post carries the session's CSRF token and comes from here."""
    origin = request.headers.get("origin")
    if origin is not None and origin != _own_origin(request):
        raise BadForm(f"a form from {origin} was refused: forms are only taken from this site")
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, who.session.csrf):
        raise BadForm("this form has expired or did not come from this site: reload the page")


def _own_origin(request: Request) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}"


class SecurityHeaders:
    """ASGI middleware: the headers above, and `Cache-Control: no-store`, on /ui responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(f"{PREFIX}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
