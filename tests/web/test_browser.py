"""The web UI in a real headless Chromium (Debian's, driven by Playwright; no browser is
downloaded): log in, claim, reveal a preview (audited), decide, see the hash in the bank;
a moderator without the child-safety role never sees a child-safety case; the main flow
by keyboard alone; every page loads with no console error and no failed request.

Chromium is a prerequisite of the test command, like PostgreSQL: without it these tests
skip with a reason, and fail under CI. The server runs with its default cookie settings
(`Secure`, which Chromium honours on 127.0.0.1).

With SAFEGUARD_SCREENSHOTS=DIR the page tour saves the screenshots of docs/ui.md there
(`make screenshots`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import Server
from tests.conftest import temporary_database
from tests.web.conftest import PASSWORD, cli, seed, site_env

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("SAFEGUARD_CHROMIUM") or shutil.which("chromium") or ""
SHOTS = os.environ.get("SAFEGUARD_SCREENSHOTS", "")


def _need_chromium() -> None:
    if CHROMIUM and Path(CHROMIUM).exists():
        return
    message = "Debian's chromium is not installed (apt-get install chromium; see README)"
    if os.environ.get("CI"):
        pytest.fail(message + " (required when CI is set)")
    pytest.skip(message)


class Tour:
    """A browser site: the seeded store, more cases for a realistic queue, a server with
    the default (secure) cookie settings."""

    def __init__(self, env: dict[str, str], home: Path) -> None:
        self.env = env
        self.home = home
        self.server = Server(env)
        self.url = self.server.url


def more_cases(env: dict[str, str], home: Path) -> None:
    """A queue that looks like a working day: reports and pathways flags on 24 accounts."""
    reasons = [
        ["NEW_ACCOUNT", "OFF_PLATFORM_HANDLES"],
        ["BURST_OF_NEW_MINORS", "NO_MUTUAL_CONNECTIONS"],
        ["BLOCKED_OR_REPORTED"],
        ["UNRELATED_TARGETS", "LOW_RESPONSE"],
    ]
    bands = ["adult", "16_17", "adult", "13_15"]
    events = []
    for i in range(24):
        if i % 3 == 0:
            events.append(
                {
                    "kind": "pathways_flag",
                    "account_id": f"user-{7301 + i}",
                    "score": round(0.8 + (i % 7) / 40, 2),
                    "reasons": reasons[i % 4],
                    "account_age_band": bands[i % 4],
                }
            )
        else:
            events.append(
                {
                    "kind": "report",
                    "account_id": f"user-{7301 + i}",
                    "reporter": f"user-{9100 + i}",
                    "reason": ["spam", "harassment", "impersonation"][i % 3],
                }
            )
    log = home / "more.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    cli(env, "events", "submit", str(log), "--no-progress")


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tour]:
    _need_chromium()
    tmp = tmp_path_factory.mktemp("browser")
    with temporary_database("sqlite", tmp) as url:
        home = tmp / "home"
        env = site_env(home, url)
        env.pop("SAFEGUARD_UI_INSECURE_COOKIES")
        seed(env, home)
        more_cases(env, home)
        t = Tour(env, home)
        try:
            yield t
        finally:
            t.server.stop()


@pytest.fixture(scope="module")
def browser(tour: Tour) -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


class Watched:
    """A page whose console errors and failed requests are collected; a test names the
    responses it expects to fail (a 403 by URL)."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.problems: list[str] = []
        self.expected: set[str] = set()
        page.on("console", self._console)  # type: ignore[attr-defined]
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))  # type: ignore[attr-defined]
        page.on("requestfailed", self._failed)  # type: ignore[attr-defined]
        page.on("response", self._response)  # type: ignore[attr-defined]

    def _failed(self, r: object) -> None:
        why = r.failure or ""  # type: ignore[attr-defined]
        if "ERR_ABORTED" not in why:  # not one cut short by the next navigation
            self.problems.append(f"request failed: {r.url} ({why})")  # type: ignore[attr-defined]

    def _console(self, m: object) -> None:
        kind, where = m.type, m.location.get("url", "")  # type: ignore[attr-defined]
        if kind in ("error", "warning") and where.split("?")[0] not in self.expected:
            self.problems.append(f"console {kind}: {m.text} ({where})")  # type: ignore[attr-defined]

    def _response(self, r: object) -> None:
        status, url = r.status, r.url  # type: ignore[attr-defined]
        if status >= 400 and url.split("?")[0] not in self.expected:
            self.problems.append(f"HTTP {status}: {url}")

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def watched(browser: object, tour: Tour) -> Iterator[Watched]:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=tour.url, viewport={"width": 1360, "height": 860}
    )
    w = Watched(context.new_page())
    try:
        yield w
    finally:
        context.close()
    w.check()


def at(page: object, path: str) -> None:
    """Wait until the page shows `path` (a glob would also match a login URL's ?next=)."""
    page.wait_for_url(lambda url: urlsplit(url).path == path)  # type: ignore[attr-defined]


def log_in(page: object, name: str) -> None:
    """Log in through the form; it sends us on to the queue."""
    page.goto("/ui/login?next=/ui/queue")  # type: ignore[attr-defined]
    page.get_by_label("User name").fill(name)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]
    at(page, "/ui/queue")


def case_of(env: dict[str, str], account: str) -> int:
    for line in cli(env, "cases", "list", "--json").splitlines():
        for case in json.loads(line) if line.startswith("[") else [json.loads(line)]:
            if case["account_id"] == account:
                return int(case["id"])
    raise AssertionError(f"no case for {account}")


def audit_entries(env: dict[str, str], action: str) -> list[dict[str, object]]:
    out = cli(env, "audit", "list", "--action", action, "--limit", "1000", "--json")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_claim_reveal_decide_and_the_hash_lands_in_the_bank(tour: Tour, watched: Watched) -> None:
    page = watched.page
    log_in(page, "alice")
    case_id = case_of(tour.env, "acct-1")
    page.goto("/ui/queue")
    row = page.locator("tr", has=page.locator(f"a:text-is('#{case_id}')"))
    row.get_by_role("button", name="Claim").click()
    at(page, f"/ui/cases/{case_id}")
    assert "Claimed by you" in page.inner_text("main")
    # the preview is blurred and greyscale; revealing shows the sharp picture, audited
    preview = page.locator("img[alt$='blurred']").first
    assert "preview.png" in preview.get_attribute("src")
    before = len(audit_entries(tour.env, "evidence.view"))
    with page.expect_navigation():
        page.get_by_role("button", name="Reveal").first.click()
    revealed = page.locator("img[alt$='revealed']")
    assert revealed.count() == 1 and "full.png" in revealed.get_attribute("src")
    page.wait_for_function("document.querySelector(\"img[alt$='revealed']\").complete")
    views = audit_entries(tour.env, "evidence.view")[before:]
    assert any(v["detail"].get("purpose") == "reveal" for v in views), views
    assert all(v["actor"] == "user:alice" for v in views)
    # decide: confirmed, add the media to the bank "reviewed"
    page.get_by_label("Confirm: known abuse material").check()
    page.get_by_label("Add the media to bank (when confirmed)").select_option("reviewed")
    page.get_by_label("Note").fill("matches the listed photo")
    page.get_by_role("button", name="Record decision").click()
    at(page, f"/ui/cases/{case_id}")
    assert "confirmed" in page.inner_text(".flash")
    # the bank now holds it, with the case as its provenance
    page.goto("/ui/banks/reviewed")
    assert f"case:{case_id}" in page.inner_text("main")


def test_a_moderator_never_sees_a_child_safety_case(tour: Tour, watched: Watched) -> None:
    page = watched.page
    log_in(page, "mo")
    page.goto("/ui/queue")
    listed = page.locator("a.case-link").all_inner_texts()
    child_safety = case_of(tour.env, "acct-2")
    assert listed and f"#{child_safety}" not in listed
    assert page.locator(".tag.cs").count() == 0
    url = f"{tour.url}/ui/cases/{child_safety}"
    watched.expected.add(url)
    response = page.goto(url)
    assert response.status == 403
    assert "may not" in page.inner_text("main")
    # nor its media
    media = f"{tour.url}/ui/cases/{child_safety}/media/1/preview.png"
    watched.expected.add(media)
    assert page.goto(media).status == 403


def test_the_main_flow_by_keyboard_alone(tour: Tour, watched: Watched) -> None:
    page = watched.page
    page.goto("/ui/login?next=/ui/account")
    # the name field takes the focus (autofocus); a keyboard user waits for the caret, as
    # this does: autofocus can land after the load event, and keys typed before it are lost
    page.wait_for_function("document.activeElement && document.activeElement.id === 'name'")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    at(page, "/ui/account")
    page.keyboard.press("q")
    at(page, "/ui/queue")
    case_id = case_of(tour.env, "acct-3")
    # j moves down the queue to that case; c claims it
    ids = [int(t.lstrip("#")) for t in page.locator("a.case-link").all_inner_texts()]
    for _ in range(ids.index(case_id) + 1):
        page.keyboard.press("j")
    page.keyboard.press("c")
    at(page, f"/ui/cases/{case_id}")
    with page.expect_navigation():
        page.keyboard.press("r")  # reveal the first item
    assert page.locator("img[alt$='revealed']").count() == 1
    with page.expect_navigation():
        page.keyboard.press("h")  # hide it again
    assert page.locator("img[alt$='revealed']").count() == 0
    page.keyboard.press("2")  # not abuse; the focus moves to the decide button
    assert page.evaluate("document.activeElement.id") == "decide-button"
    page.keyboard.press("Enter")
    at(page, f"/ui/cases/{case_id}")
    assert "not abuse" in page.inner_text(".flash")
    decided = json.loads(cli(tour.env, "cases", "show", str(case_id), "--json"))
    assert decided["decision"] == "not_abuse" and decided["decided_by"] == "alice"


PAGES = [
    ("dashboard", "/ui/"),
    ("queue", "/ui/queue"),
    ("case", None),
    ("banks", "/ui/banks"),
    ("bank", "/ui/banks/known"),
    ("rules", "/ui/rules"),
    ("referrals", "/ui/referrals"),
    ("statistics", "/ui/stats"),
    ("account", "/ui/account"),
    ("help", "/ui/help"),
]


#: what a screen reader or keyboard user would miss on a page: controls with no label,
#: images with no text, buttons and links with no name, duplicate ids, a skipped heading level
A11Y_PROBLEMS = """() => {
  const out = [];
  const named = el => (el.getAttribute('aria-label') || el.innerText || el.value ||
                       el.getAttribute('title') || '').trim() !== '';
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label') ||
                     el.getAttribute('aria-labelledby') || el.getAttribute('title');
    if (!labelled) out.push('unlabelled ' + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll('img')) {
    if (!el.hasAttribute('alt')) out.push('image without alt ' + el.src);
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (!named(el)) out.push('nameless ' + el.outerHTML.slice(0, 80));
  }
  const ids = {};
  for (const el of document.querySelectorAll('[id]')) {
    if (ids[el.id]) out.push('duplicate id ' + el.id);
    ids[el.id] = 1;
  }
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = +h.tagName[1];
    if (level > last + 1) out.push('heading jumps to ' + h.tagName + ': ' + h.innerText);
    last = level;
  }
  if (!document.documentElement.lang) out.push('no lang on <html>');
  return out;
}"""

#: the pages docs/ui.md shows
SHOWN = {"dashboard", "queue", "case", "bank", "rules", "statistics"}


def test_every_page_loads_clean(tour: Tour, watched: Watched) -> None:
    page = watched.page
    log_in(page, "ada")
    case_id = case_of(tour.env, "acct-2")  # a case with media: the previews are blurred
    for name, path in PAGES:
        response = page.goto(path or f"/ui/cases/{case_id}")
        assert response.status == 200, f"{name}: {response.status}"
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() >= 1, name
        assert page.title().endswith("safeguard"), name
        assert page.evaluate(A11Y_PROBLEMS) == [], name
        if SHOTS and name in SHOWN:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)
    # the probe does see what it looks for
    page.evaluate("document.querySelector('main').append(document.createElement('input'))")
    assert any(p.startswith("unlabelled") for p in page.evaluate(A11Y_PROBLEMS))
