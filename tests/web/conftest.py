"""A real `safeguard serve` with the web UI, a store seeded through the CLI, and clients
that log in through the login form (tests drive the UI as a browser would, over HTTP).

`site` (one per module, SQLite unless a test asks `pg_site`; seeded through the CLI, run in
this process): users alice (child_safety), mo (moderator), ada (admin), aud (auditor), all
with the password PASSWORD; a bank "known" holding three generated photos and an empty bank
"reviewed"; uploads of those photos by acct-1..3 (child-safety cases with preserved,
encrypted media), a report on acct-4 and a pathways flag on acct-5 (cases a moderator may
see, opened by the rule set below).

`site.login(name)` is an httpx client with that user's session cookie; `csrf(page_html)`
reads the form token of a page. The server runs with SAFEGUARD_UI_INSECURE_COOKIES=1 (httpx
keeps no `Secure` cookie over plain HTTP); test_login.py checks the default is `Secure`.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from safeguard.samples import scene
from tests.api.conftest import TLS, Server, store_env
from tests.conftest import Cli, temporary_database

PASSWORD = "correct horse battery staple"
USERS = {"alice": "child_safety", "mo": "moderator", "ada": "admin", "aud": "auditor"}

RULES = """\
rules:
  - name: known-image
    description: A match in a bank of known imagery holds the upload and opens a case
    when:
      kind: upload
      match: {}
    then:
      verdict: hold
      case: {priority: 2, child_safety: true}
  - name: user-report
    description: A user report opens a case a moderator may see
    when:
      kind: report
    then:
      case: {priority: 1, child_safety: false}
  - name: pathways-high
    description: A high pathways score opens a case for a moderator
    when:
      kind: pathways_flag
      pathways: {min_score: 0.8}
    then:
      case: {priority: 3, child_safety: false}
"""


def cli(env: dict[str, str], *args: str, input: str | None = None) -> str:
    """`safeguard ARGS` through the CLI, in this process (Typer's runner: a process per
    command cost a second or two of imports, a dozen times per site); its stdout."""
    result = Cli(env)(*args, input=input)
    assert result.exit_code == 0, f"safeguard {' '.join(args)}: {result.output}"
    return str(result.stdout)


def add_user(env: dict[str, str], name: str, role: str, password: str = PASSWORD) -> None:
    """A user with a role and a password, made through the CLI."""
    cli(env, "users", "add", name, "--role", role)
    cli(env, "users", "password", name, "--stdin", input=password + "\n")


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class Site:
    def __init__(self, env: dict[str, str], home: Path) -> None:
        self.env = env
        self.home = home
        self.server = Server(env)
        self.url = self.server.url

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False, verify=TLS)

    def login(self, name: str, password: str = PASSWORD) -> httpx.Client:
        c = self.client()
        r = c.post("/ui/login", data={"name": name, "password": password, "next": "/ui/"})
        assert r.status_code == 303, r.text
        return c

    def stop(self) -> None:
        self.server.stop()


def seed(env: dict[str, str], home: Path) -> None:
    for name, role in USERS.items():
        add_user(env, name, role)
    images = home / "images"
    images.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(3):
        p = images / f"photo{i}.jpg"
        scene(900 + i).save(p, quality=90)
        paths.append(p)
    cli(env, "bank", "create", "known")
    cli(env, "bank", "create", "reviewed")  # empty: where decisions add what they confirm
    cli(env, "bank", "add", "known", *map(str, paths))
    rules = home / "rules.yaml"
    rules.write_text(RULES)
    cli(env, "rules", "apply", str(rules))
    events = [
        {
            "kind": "upload",
            "account_id": f"acct-{i + 1}",
            "path": str(p),
            "account_age_band": "adult",
        }
        for i, p in enumerate(paths)
    ]
    events.append({"kind": "report", "account_id": "acct-4", "reporter": "u9", "reason": "spam"})
    events.append(
        {
            "kind": "pathways_flag",
            "account_id": "acct-5",
            "score": 0.91,
            "reasons": ["NEW_ACCOUNT", "OFF_PLATFORM_HANDLES"],
            "account_age_band": "adult",
        }
    )
    log = home / "events.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    cli(env, "events", "submit", str(log), "--no-progress")


def site_env(home: Path, url: str) -> dict[str, str]:
    return store_env(
        home,
        url,
        SAFEGUARD_PRESERVE_MEDIA="1",
        SAFEGUARD_EVIDENCE_KEY=base64.b64encode(os.urandom(32)).decode(),
        SAFEGUARD_EVIDENCE_DIR=str(home / "evidence"),
        SAFEGUARD_UI_INSECURE_COOKIES="1",
    )


def _site(backend: str, tmp: Path) -> Iterator[Site]:
    with temporary_database(backend, tmp) as url:
        home = tmp / "home"
        env = site_env(home, url)
        seed(env, home)
        s = Site(env, home)
        try:
            yield s
        finally:
            s.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _site("sqlite", tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def pg_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _site("postgresql", tmp_path_factory.mktemp("webpg"))
