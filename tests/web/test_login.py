"""Logging in and out of the web UI over HTTP: passwords, the TOTP second factor, the lock
after failed logins, cookies, CSRF, idle sessions, and navigation by role."""

from __future__ import annotations

import json
import re

import httpx
import pyotp

from tests.api.conftest import Server
from tests.web.conftest import PASSWORD, Site, add_user, cli, csrf


def test_pages_need_a_login_and_send_you_back_after_it(site: Site) -> None:
    c = site.client()
    r = c.get("/ui/queue?bank=known")
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/login?next=/ui/queue%3Fbank%3Dknown"
    r = c.post(
        "/ui/login", data={"name": "alice", "password": PASSWORD, "next": "/ui/queue?bank=known"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui/queue?bank=known"
    assert c.get("/ui/queue?bank=known").status_code == 200


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(site: Site) -> None:
    c = site.client()
    for name in ("alice", "nobody"):
        r = c.post("/ui/login", data={"name": name, "password": "not the password!"})
        assert r.status_code == 401
        assert "wrong user name, password or code" in r.text
        assert "sg_session" not in r.headers.get("set-cookie", "")


def test_the_next_page_is_never_another_site(site: Site) -> None:
    r = site.client().post(
        "/ui/login", data={"name": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert r.headers["location"] == "/ui/"


def test_five_failures_lock_the_user_and_the_audit_log_says_so(site: Site) -> None:
    add_user(site.env, "locky", "moderator")
    c = site.client()
    for _ in range(5):
        assert (
            c.post("/ui/login", data={"name": "locky", "password": "wrong wrong wrong"}).status_code
            == 401
        )
    r = c.post("/ui/login", data={"name": "locky", "password": PASSWORD})
    assert r.status_code == 401 and "locked until" in r.text
    log = cli(site.env, "audit", "list", "--json")
    assert log.count('"user.login_failed"') >= 6 and '"locked": true' in log


def test_logout_ends_the_session_and_needs_the_form_token(site: Site) -> None:
    c = site.login("mo")
    page = c.get("/ui/queue").text
    assert c.post("/ui/logout", data={"csrf": "forged"}).status_code == 403
    assert c.get("/ui/queue").status_code == 200  # a forged logout did nothing
    r = c.post("/ui/logout", data={"csrf": csrf(page)})
    assert r.status_code == 303
    assert c.get("/ui/queue").status_code == 303  # back to the login form


def test_a_post_from_another_origin_is_refused(site: Site) -> None:
    c = site.login("mo")
    token = csrf(c.get("/ui/queue").text)
    r = c.post("/ui/logout", data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "evil.example" in r.text


def test_totp_is_asked_for_once_set_up(site: Site) -> None:
    add_user(site.env, "tess", "moderator")
    secret = json.loads(cli(site.env, "users", "totp", "tess", "--json"))["secret"]
    c = site.client()
    r = c.post("/ui/login", data={"name": "tess", "password": PASSWORD})
    assert r.status_code == 401 and "authenticator" in r.text
    r = c.post("/ui/login", data={"name": "tess", "password": PASSWORD, "code": "000000"})
    assert r.status_code == 401
    code = pyotp.TOTP(secret).now()
    r = c.post("/ui/login", data={"name": "tess", "password": PASSWORD, "code": code})
    assert r.status_code == 303


def test_navigation_follows_roles(site: Site) -> None:
    def links(name: str) -> set[str]:
        html = site.login(name).get("/ui/account").text
        nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
        return set(re.findall(r'href="(/ui/[^"]*)"', nav))

    assert "/ui/rules" in links("ada") and "/ui/rules" not in links("mo")
    assert "/ui/queue" in links("mo") and "/ui/queue" not in links("aud")
    assert "/ui/referrals" in links("alice") and "/ui/referrals" not in links("mo")


def test_security_headers_on_every_page(site: Site) -> None:
    r = site.client().get("/ui/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


def test_the_session_cookie_is_secure_httponly_and_strict_by_default(site: Site) -> None:
    env = {k: v for k, v in site.env.items() if k != "SAFEGUARD_UI_INSECURE_COOKIES"}
    server = Server(env)
    try:
        r = httpx.post(
            f"{server.url}/ui/login", data={"name": "mo", "password": PASSWORD, "next": "/ui/"}
        )
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert cookie.startswith("sg_session=")
        for attribute in ("secure", "httponly", "samesite=strict", "path=/ui"):
            assert attribute in cookie, cookie
    finally:
        server.stop()
