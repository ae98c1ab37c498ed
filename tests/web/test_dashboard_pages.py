"""The dashboard (/ui/) over HTTP: each role's figures count only the cases it may see, an
auditor gets a page saying what they can do instead, and a webhook delivery that failed
shows with a retry button that puts the job back in the queue."""

from __future__ import annotations

import json
import re

from tests.api.conftest import free_port
from tests.web.conftest import Site, cli, csrf


def figure(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, f"no #{element_id} on the page"
    return found.group(1).strip()


def section(html: str, element_id: str) -> str:
    """The HTML of the <section> with this id ("" when the page has none)."""
    start = html.find(f'<section class="card" id="{element_id}"')
    return "" if start < 0 else html[start : html.index("</section>", start)]


def case_of(site: Site, account: str) -> int:
    for line in cli(site.env, "cases", "list", "--json").splitlines():
        for case in json.loads(line) if line.startswith("[") else [json.loads(line)]:
            if case["account_id"] == account:
                return int(case["id"])
    raise AssertionError(f"no case for {account}")


def test_each_role_counts_the_cases_it_may_see(site: Site) -> None:
    # the seeded site: three child-safety cases (acct-1..3) and two others (acct-4, acct-5)
    pages = {name: site.login(name).get("/ui/") for name in ("ada", "alice", "mo")}
    for name, r in pages.items():
        assert r.status_code == 200, (name, r.text)
        assert "<h1>Dashboard</h1>" in r.text
    assert figure(pages["ada"].text, "open-cases") == "5"
    assert figure(pages["alice"].text, "open-cases") == "5"
    assert figure(pages["mo"].text, "open-cases") == "2"
    # every case was opened minutes ago: all in the youngest band
    ages = pages["mo"].text.split('id="age-bands"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td>under 1 h</td>\s*<td class=\"num\">2</td>", ages), ages
    assert "Child-safety cases are not counted" in pages["mo"].text
    assert "Child-safety cases are not counted" not in pages["alice"].text
    # the seeded events: three uploads held, a report and a flag allowed
    for r in pages.values():
        assert "5 events in the same days" in r.text
        assert re.search(r"hold <span class=\"num\">3</span>", r.text)
        assert "<svg" in r.text and 'role="img"' in r.text and "<desc" in r.text
    # failures: webhooks for admins, referrals for child-safety specialists and admins
    shown = {
        name: (bool(section(r.text, "webhooks")), bool(section(r.text, "referrals")))
        for name, r in pages.items()
    }
    assert shown == {"ada": (True, True), "alice": (False, True), "mo": (False, False)}
    assert "style=" not in pages["ada"].text and "<script>" not in pages["ada"].text


def test_the_window_is_chosen_and_checked(site: Site) -> None:
    c = site.login("alice")
    r = c.get("/ui/?days=7")
    assert r.status_code == 200
    assert '<option value="7" selected>' in r.text and "Decided, last 7 days" in r.text
    hidden = r.text.split('<table class="sr-only">', 1)[1].split("</table>", 1)[0]
    assert hidden.count("<tr>") == 1 + 7  # the header and a row a day
    r = c.get("/ui/?days=0")
    assert r.status_code == 400 and "1 to 90 days" in r.text and "Traceback" not in r.text


def test_an_auditor_gets_the_statistics_instead(site: Site) -> None:
    c = site.login("aud")
    r = c.get("/ui/")
    assert r.status_code == 200
    assert "What you can do here" in r.text and 'href="/ui/stats"' in r.text
    assert "open-cases" not in r.text and "safeguard audit list" in r.text
    assert c.get("/ui/stats").status_code == 200
    # and cannot retry a delivery
    r = c.post("/ui/webhooks/1/retry", data={"csrf": csrf(r.text)})
    assert r.status_code == 403


def test_a_failed_webhook_shows_with_a_retry_that_puts_it_back(site: Site) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    cli(site.env, "webhooks", "add", "platform-down", nobody, "--topic", "decision")
    # an escalation is a decision (the platform is told), and leaves the case open
    case_id = case_of(site, "acct-2")
    cli(site.env, "cases", "decide", str(case_id), "--decision", "escalate")
    cli(site.env, "worker", "--once", "--max-attempts", "1", "--http-timeout", "2")
    (job,) = json.loads(cli(site.env, "webhooks", "failed", "--json"))
    assert job["endpoint"] == "platform-down" and job["state"] == "failed"

    ada = site.login("ada")
    html = ada.get("/ui/").text
    failures = section(html, "webhooks")
    assert f'action="/ui/webhooks/{job["id"]}/retry"' in failures
    assert "platform-down" in failures and "1 failed" in failures
    assert figure(html, "open-cases") == "5"  # the escalated case is still open

    # a moderator may not send it again
    mo = site.login("mo")
    r = mo.post(f"/ui/webhooks/{job['id']}/retry", data={"csrf": csrf(mo.get("/ui/").text)})
    assert r.status_code == 403
    assert json.loads(cli(site.env, "webhooks", "failed", "--json"))[0]["id"] == job["id"]

    # nor may a forged form
    assert ada.post(f"/ui/webhooks/{job['id']}/retry", data={"csrf": "x"}).status_code == 403

    r = ada.post(f"/ui/webhooks/{job['id']}/retry", data={"csrf": csrf(html)})
    assert r.status_code == 303 and r.headers["location"] == "/ui/#webhooks"
    after = ada.get("/ui/").text
    assert "queued again" in after
    assert f'action="/ui/webhooks/{job["id"]}/retry"' not in after
    pending = json.loads(cli(site.env, "webhooks", "pending", "--json"))
    assert [(j["id"], j["state"], j["attempts"]) for j in pending] == [(job["id"], "pending", 0)]
    assert json.loads(cli(site.env, "webhooks", "failed", "--json")) == []

    # retrying a job that is not failed says why, on the dashboard
    r = ada.post(f"/ui/webhooks/{job['id']}/retry", data={"csrf": csrf(after)})
    assert r.status_code == 303
    assert "is pending, not failed" in ada.get("/ui/").text


def test_the_dashboard_needs_a_login(site: Site) -> None:
    r = site.client().get("/ui/")
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
