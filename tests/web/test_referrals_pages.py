"""The Referrals pages over HTTP: build a draft from a case decided through the UI, see what
it lacks (the seeded site has no reporter settings), approval refused while it lacks them;
on a site with reporter settings and the CyberTipline stand-in, approve, a refused submit
shown with its error and a Resubmit button, the resubmit that finishes it, an NCA record
handed over; the list with failures first; moderators and auditors get 403."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import temporary_database
from tests.refer.conftest import PASSWORD as AGENCY_PASSWORD
from tests.refer.conftest import REPORTER
from tests.refer.conftest import USER as AGENCY_USER
from tests.refer.standin import StandIn
from tests.web.conftest import Site, cli, csrf, seed, site_env


def flash(c: httpx.Client, r: httpx.Response) -> tuple[str, str]:
    """Follow a form's redirect: where it went and the message it flashed."""
    assert r.status_code == 303, r.text
    to = r.headers["location"]
    page = c.get(to).text
    found = re.search(r'<div class="flash (ok|error)"[^>]*>(.*?)</div>', page, re.S)
    assert found, f"no message on {to}"
    return to, f"{found.group(1)}: {html.unescape(found.group(2))}"


def case_of(site: Site, account: str) -> int:
    (case,) = json.loads(cli(site.env, "cases", "list", "--account", account, "--json"))
    return int(case["id"])


def decide(c: httpx.Client, case_id: int) -> None:
    """Confirm a case through the case page's decide form."""
    token = csrf(c.get(f"/ui/cases/{case_id}").text)
    r = c.post(
        f"/ui/cases/{case_id}/decide",
        data={"csrf": token, "decision": "confirmed", "add_to_bank": "", "note": "seen"},
    )
    assert r.status_code == 303 and "error" not in r.headers.get("set-cookie", "").lower()


def build(c: httpx.Client, case_id: int, agency: str) -> httpx.Response:
    token = csrf(c.get(f"/ui/cases/{case_id}").text)
    return c.post(f"/ui/cases/{case_id}/referrals", data={"csrf": token, "agency": agency})


def status(site: Site, referral_id: int) -> dict[str, object]:
    shown: dict[str, object] = json.loads(
        cli(site.env, "--user", "alice", "referrals", "status", str(referral_id), "--json")
    )
    return shown


def test_build_see_what_is_missing_and_approval_is_refused(site: Site) -> None:
    alice = site.login("alice")
    case_id = case_of(site, "acct-1")
    # an undecided case cannot be referred: said on the case page
    to, said = flash(alice, build(alice, case_id, "ncmec"))
    assert to == f"/ui/cases/{case_id}"
    assert said.startswith("error:") and "only a case decided confirmed or escalate" in said

    decide(alice, case_id)
    to, said = flash(alice, build(alice, case_id, "ncmec"))
    m = re.fullmatch(r"/ui/referrals/(\d+)", to)
    assert m, to
    referral = int(m.group(1))
    assert said.startswith(f"ok: draft referral {referral} to the NCMEC built: it lacks")

    page = alice.get(to).text
    missing = re.search(r'<ul id="missing">(.*?)</ul>', page, re.S)
    assert missing, page
    for field, env in (
        ("reporter.contact_first_name", "SAFEGUARD_REPORTER_FIRST_NAME"),
        ("reporter.contact_last_name", "SAFEGUARD_REPORTER_LAST_NAME"),
        ("reporter.contact_email", "SAFEGUARD_REPORTER_EMAIL"),
    ):
        assert f"<code>{field}</code>" in missing.group(1) and env in missing.group(1)
    assert "/approve" not in page  # no Approve button while it lacks something
    assert "It cannot be approved" in page
    assert f'href="/ui/cases/{case_id}"' in page and "acct-1" in page
    assert "A CyberTipline report: XML of" in page and "<pre" not in page  # a summary
    shown = alice.get(f"/ui/referrals/{referral}?show=payload").text
    assert '<pre class="code" id="payload"' in shown and "&lt;report" in shown

    # approving it anyway (a stale page, a crafted post) is refused by the library
    r = alice.post(f"/ui/referrals/{referral}/approve", data={"csrf": csrf(page)})
    _to, said = flash(alice, r)
    assert said.startswith(f"error: referral {referral} cannot be approved: it lacks")
    assert "reporter.contact_email" in said
    assert status(site, referral)["state"] == "draft"

    # the list, and its state filter
    listed = alice.get("/ui/referrals").text
    row = re.search(rf'<tr>\s*<td><a href="/ui/referrals/{referral}">.*?</tr>', listed, re.S)
    assert row and "draft" in row.group(0) and "missing" in row.group(0)
    assert f'<a href="/ui/cases/{case_id}">' in row.group(0) and "acct-1" in row.group(0)
    assert f"/ui/referrals/{referral}" not in alice.get("/ui/referrals?state=finished").text
    assert f"/ui/referrals/{referral}" in alice.get("/ui/referrals?state=draft").text
    assert f"/ui/referrals/{referral}" in alice.get(f"/ui/referrals?case_id={case_id}").text

    # an NCA draft lacks the organisation too; an admin sees its steps from the audit log
    _to, said = flash(alice, build(alice, case_id, "nca"))
    nca = int(said.split()[3])
    page = site.login("ada").get(f"/ui/referrals/{nca}").text
    assert "<code>reporter.org_name</code>" in page and "SAFEGUARD_REPORTER_ORG" in page
    assert '<pre class="code summary" id="summary">' in page and "National Crime Agency" in page
    steps = re.search(r'<ol class="timeline" id="steps">(.*?)</ol>', page, re.S)
    assert steps and "<strong>build</strong> by user:alice" in steps.group(1)


def test_moderators_and_auditors_get_403(site: Site) -> None:
    case_id = case_of(site, "acct-2")
    for name in ("mo", "aud"):
        c = site.login(name)
        for path in ("/ui/referrals", "/ui/referrals/1", "/ui/referrals?state=failed"):
            r = c.get(path)
            assert r.status_code == 403, (name, path)
            assert "may not make or see referrals" in r.text
        token = csrf(c.get("/ui/account").text)
        r = c.post(f"/ui/cases/{case_id}/referrals", data={"csrf": token, "agency": "nca"})
        assert r.status_code == 403
        assert c.post("/ui/referrals/1/approve", data={"csrf": token}).status_code == 403


# -- a site with reporter settings, sending to the CyberTipline stand-in --------------------


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    with StandIn(AGENCY_USER, AGENCY_PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def agency_site(tmp_path_factory: pytest.TempPathFactory, standin: StandIn) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("webrefer")
    with temporary_database("sqlite", tmp) as url:
        home = tmp / "home"
        env = {
            **site_env(home, url),
            **REPORTER,
            "SAFEGUARD_NCMEC_URL": standin.url,
            "SAFEGUARD_NCMEC_USERNAME": AGENCY_USER,
            "SAFEGUARD_NCMEC_PASSWORD": AGENCY_PASSWORD,
        }
        seed(env, home)
        upload(env, home, "acct-w", home / "images" / "photo0.jpg")
        upload(env, home, "acct-uk", home / "images" / "photo1.jpg")
        s = Site(env, home)
        try:
            yield s
        finally:
            s.stop()


def upload(env: dict[str, str], home: Path, account: str, photo: Path) -> None:
    """An upload of a known photo, with where it was posted (a CyberTipline report needs it)."""
    event = {
        "kind": "upload",
        "account_id": account,
        "path": str(photo),
        "where": f"https://forum.example.org/t/{account}",
        "account": {"screen_name": f"{account}-name", "ip": "203.0.113.7", "port": 51234},
    }
    log = home / f"{account}.jsonl"
    log.write_text(json.dumps(event) + "\n")
    cli(env, "events", "submit", str(log), "--no-progress")


def test_approve_a_refused_submit_shows_its_error_and_resubmit_finishes(
    agency_site: Site, standin: StandIn
) -> None:
    site = agency_site
    alice = site.login("alice")
    case_id = case_of(site, "acct-w")
    decide(alice, case_id)
    to, said = flash(alice, build(alice, case_id, "ncmec"))
    assert said.endswith("built: ready for approval"), said
    referral = int(to.rsplit("/", 1)[1])
    page = alice.get(to).text
    assert 'id="missing"' not in page and "1 file" in page

    _to, said = flash(alice, alice.post(f"{to}/approve", data={"csrf": csrf(page)}))
    assert said == f"ok: referral {referral} approved by user:alice: it can be sent"
    page = alice.get(to).text
    assert "Submit to NCMEC" in page

    standin.reject("submit", 4100, "the report failed validation")
    _to, said = flash(alice, alice.post(f"{to}/submit", data={"csrf": csrf(page)}))
    assert said.startswith(f"error: referral {referral} was not sent (failed): validation:")
    assert "failed validation" in said
    page = alice.get(to).text
    assert '<span class="tag bad">failed</span>' in page
    assert 'id="last-error"' in page and "failed validation" in page
    assert re.search(r'<button type="submit" class="primary">Resubmit</button>', page)
    assert standin.reports == {}
    # failures come first on the list
    listed = alice.get("/ui/referrals").text
    failed = re.search(r'<table class="grid" id="failed">(.*?)</table>', listed, re.S)
    assert failed and f"/ui/referrals/{referral}" in failed.group(1)
    assert "failed validation" in failed.group(1)

    _to, said = flash(alice, alice.post(f"{to}/submit", data={"csrf": csrf(page)}))
    (report_id,) = standin.reports
    assert said == f"ok: referral {referral} sent to the NCMEC, report id {report_id}"
    assert standin.reports[report_id]["finished"]
    shown = status(site, referral)
    assert shown["state"] == "finished" and shown["attempts"] == 2
    page = alice.get(to).text
    assert '<span class="tag good">finished</span>' in page and report_id in page
    assert "Resubmit" not in page and "/submit" not in page
    assert 'id="failed"' not in alice.get("/ui/referrals").text


def test_an_nca_record_is_approved_and_handed_over(agency_site: Site) -> None:
    site = agency_site
    alice = site.login("alice")
    case_id = case_of(site, "acct-uk")
    decide(alice, case_id)
    to, said = flash(alice, build(alice, case_id, "nca"))
    assert said.endswith("built: ready for approval"), said
    page = alice.get(to).text
    assert "declaration that the report is accurate and complete" in page
    assert "acct-uk" in page.split('id="summary"', 1)[1]
    flash(alice, alice.post(f"{to}/approve", data={"csrf": csrf(page)}))
    page = alice.get(to).text
    assert "Mark as handed over to the NCA" in page
    assert "**Made by:** alice" in page.split('id="summary"', 1)[1]
    _to, said = flash(alice, alice.post(f"{to}/submit", data={"csrf": csrf(page)}))
    assert said == f"ok: referral {to.rsplit('/', 1)[1]} sent to the NCA"
    shown = json.loads(cli(site.env, "cases", "show", str(case_id), "--json"))
    assert shown["state"] == "referred"
