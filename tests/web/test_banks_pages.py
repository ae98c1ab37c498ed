"""The banks pages over HTTP: the list and a bank for those who see cases (403 for others);
admin forms (settings, new bank, import, release) shown to admins only and refused to anyone
else; a threshold out of range refused naming the range; a hash list imported in the
background with progress polled as JSON, or failed naming its bad line with nothing added;
a quarantined entry released; a case decision's hashes listed with their case."""

from __future__ import annotations

import html
import json
import random
import re
import time

import httpx

from tests.web.conftest import Site, cli, csrf

ACTION_FORMS = (
    'action="/ui/banks"',
    'action="/ui/banks/known/settings"',
    'action="/ui/banks/known/import"',
)


def _hashes(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.getrandbits(256):064x}" for _ in range(n)]


def _bank(site: Site, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads(cli(site.env, "bank", "show", name, "--json"))


def _flash(c: httpx.Client, r: httpx.Response) -> str:
    """The page a form post went on to, with its one-shot message."""
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"].split("#")[0])
    assert page.status_code == 200, page.text
    found = re.search(r'<div class="flash (ok|error)"[^>]*>(.*?)</div>', page.text, re.S)
    assert found, "no message on the page"
    return f"{found.group(1)}: {html.unescape(found.group(2).strip())}"


def _create(site: Site, name: str, *, negative: bool = False) -> None:
    c = site.login("ada")
    token = csrf(c.get("/ui/banks").text)
    data = {"csrf": token, "name": name, "description": f"the {name} bank"}
    if negative:
        data["negative"] = "1"
    r = c.post("/ui/banks", data=data)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/ui/banks/{name}", _flash(c, r)


def _import(
    c: httpx.Client, bank: str, file_name: str, body: str, fmt: str = ""
) -> tuple[str, dict]:  # type: ignore[type-arg]
    """Upload a list through the import form, follow the job page's progress JSON to its
    end; the job page's URL and the last JSON."""
    token = csrf(c.get(f"/ui/banks/{bank}").text)
    r = c.post(
        f"/ui/banks/{bank}/import",
        data={"csrf": token, "fmt": fmt},
        files={"file": (file_name, body.encode(), "text/plain")},
    )
    assert r.status_code == 303, r.text
    job_url = r.headers["location"]
    assert re.fullmatch(rf"/ui/banks/{bank}/imports/\d+", job_url), job_url
    page = c.get(job_url)
    assert page.status_code == 200
    deadline = time.monotonic() + 120
    while True:
        status = c.get(job_url + ".json")
        assert status.status_code == 200 and status.headers["content-type"].startswith(
            "application/json"
        )
        job = status.json()
        assert {"state", "total", "done", "message"} <= set(job)
        if job["state"] != "running":
            return job_url, job
        assert f'data-progress-url="{job_url}.json"' in page.text or job["state"] != "running"
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def test_the_list_and_a_bank_for_those_who_see_cases_and_not_for_others(site: Site) -> None:
    for name in ("mo", "alice", "ada"):
        c = site.login(name)
        listing = c.get("/ui/banks")
        assert listing.status_code == 200, name
        assert 'href="/ui/banks/known"' in listing.text and "known content" in listing.text
        assert "pdq ≤ 31" in listing.text and "dihedral" in listing.text
        bank = c.get("/ui/banks/known")
        assert bank.status_code == 200, name
        assert bank.text.count('<td class="num mono">') == 3  # the three seeded photos
        assert 'aria-current="page">Banks' in bank.text
    c = site.login("aud")
    for path in ("/ui/banks", "/ui/banks/known"):
        r = c.get(path)
        assert r.status_code == 403 and "may not see banks" in r.text
    assert site.login("mo").get("/ui/banks/nope").status_code == 404


def test_a_moderator_sees_no_admin_forms_and_a_forged_admin_post_is_refused(site: Site) -> None:
    mo, ada = site.login("mo"), site.login("ada")
    for path in ("/ui/banks", "/ui/banks/known"):
        mine, admins = mo.get(path).text, ada.get(path).text
        assert not any(f in mine for f in ACTION_FORMS), path
        assert any(f in admins for f in ACTION_FORMS), path
    token = csrf(mo.get("/ui/banks/known").text)
    assert mo.post("/ui/banks", data={"csrf": token, "name": "mine"}).status_code == 403
    r = mo.post("/ui/banks/known/settings", data={"csrf": token, "threshold_pdq": "100"})
    assert r.status_code == 403 and "may not change bank settings" in r.text
    r = mo.post(
        "/ui/banks/known/import",
        data={"csrf": token},
        files={"file": ("x.txt", f"pdq {_hashes(1, 9)[0]}\n".encode(), "text/plain")},
    )
    assert r.status_code == 403
    assert _bank(site, "known")["thresholds"]["pdq"] == 31
    assert "mine" not in cli(site.env, "bank", "list")
    # without the form token, even an admin's post is refused
    r = ada.post("/ui/banks/known/settings", data={"csrf": "forged", "threshold_pdq": "5"})
    assert r.status_code == 403
    assert _bank(site, "known")["thresholds"]["pdq"] == 31


def test_an_admin_changes_a_threshold_and_one_out_of_range_is_refused(site: Site) -> None:
    c = site.login("ada")
    page = c.get("/ui/banks/known").text
    assert 'name="threshold_pdq"' in page and 'max="128"' in page
    form = {"csrf": csrf(page), "enabled": "1", "description": "seeded photos"}
    r = c.post("/ui/banks/known/settings", data={**form, "threshold_pdq": "20"})
    assert _flash(c, r) == "ok: bank known saved"
    assert _bank(site, "known")["thresholds"]["pdq"] == 20
    assert 'value="20"' in c.get("/ui/banks/known").text
    r = c.post("/ui/banks/known/settings", data={**form, "threshold_pdq": "500"})
    assert _flash(c, r) == "error: pdq threshold must be between 0 and 128, got 500"
    r = c.post("/ui/banks/known/settings", data={**form, "threshold_pdq": "twelve"})
    assert _flash(c, r) == "error: the pdq threshold is a whole number from 0 to 128"
    info = _bank(site, "known")
    assert info["thresholds"]["pdq"] == 20 and info["description"] == "seeded photos"
    assert info["enabled"] is True


def test_an_admin_creates_a_negative_bank(site: Site) -> None:
    _create(site, "benign-memes", negative=True)
    assert _bank(site, "benign-memes")["negative"] is True
    c = site.login("ada")
    row = c.get("/ui/banks").text.split('href="/ui/banks/benign-memes"', 1)[1].split("</tr>")[0]
    assert ">negative<" in row and ">0<" in row
    page = c.get("/ui/banks/benign-memes").text
    assert "negative bank" in page and "This bank is empty." in page
    r = c.post("/ui/banks", data={"csrf": csrf(page), "name": "benign-memes"})
    assert r.headers["location"] == "/ui/banks"  # back to the form
    assert _flash(c, r) == "error: a bank named 'benign-memes' already exists"


def test_a_list_imported_with_progress_lands_in_the_bank(site: Site) -> None:
    _create(site, "partner")
    c = site.login("ada")
    hashes = _hashes(2000, 1)
    body = "signal_type,signal_value,external_id\n" + "".join(
        f"pdq,{h},p-{i}\n" for i, h in enumerate(hashes)
    )
    job_url, job = _import(c, "partner", "partner-list.csv", body)
    assert job["state"] == "done", job
    assert job["done"] == job["total"] == 2000 and "2,000 added" in job["message"]
    page = c.get(job_url).text
    assert 'id="added">2,000<' in page and "data-progress-url" not in page
    bank = c.get("/ui/banks/partner").text
    assert '<div class="value">2,000</div><div class="label">Entries</div>' in bank
    assert bank.count('<td class="num mono">') == 50  # a page at a time, newest first
    assert "p-1999" in bank and "p-0<" not in bank and "partner-list.csv" in bank
    assert hashes[-1][:12] in bank and f'title="{hashes[-1]}"' in bank
    older = re.search(r'href="(/ui/banks/partner\?before=\d+)"', bank)
    assert older, "no link to older entries"
    assert "p-1949" in c.get(older.group(1)).text
    # the same list again as JSON Lines, the format chosen: nothing new
    jsonl = "".join(json.dumps({"signal_type": "pdq", "signal_value": h}) + "\n" for h in hashes)
    _, again = _import(c, "partner", "again.data", jsonl, fmt="jsonl")
    assert again["state"] == "done" and again["report"]["already_present"] == 2000
    assert _bank(site, "partner")["content_count"] == 2000


def test_a_list_with_a_broken_line_fails_naming_it_and_adds_nothing(site: Site) -> None:
    _create(site, "strict")
    c = site.login("ada")
    lines = [f"pdq,{h}" for h in _hashes(40, 2)]
    lines[4] = "pdq,not-a-hash"
    job_url, job = _import(c, "strict", "broken.csv", "\n".join(lines) + "\n")
    assert job["state"] == "failed" and "line 5" in job["message"]
    page = c.get(job_url).text
    assert "Nothing was imported." in page and "broken.csv: 1 invalid line(s)" in page
    assert "line 5:" in page
    assert _bank(site, "strict")["content_count"] == 0
    assert ">failed<" in c.get("/ui/banks/strict").text  # in the recent imports
    # no file at all
    token = csrf(c.get("/ui/banks/strict").text)
    r = c.post(
        "/ui/banks/strict/import", data={"csrf": token}, files={"file": ("", b"", "text/plain")}
    )
    assert _flash(c, r) == "error: choose a hash-list file to import"


def test_a_quarantined_entry_is_shown_and_released_by_an_admin(site: Site) -> None:
    photo = site.home / "images" / "photo0.jpg"
    burst = [{"kind": "upload", "account_id": f"burst-{i}", "path": str(photo)} for i in range(6)]
    events = site.home / "burst.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in burst))
    cli({**site.env, "SAFEGUARD_FLOOD_MIN": "5"}, "events", "submit", str(events), "--no-progress")
    (paused,) = json.loads(cli(site.env, "cases", "quarantined", "--json"))
    entry = paused["content_id"]
    release = f"/ui/banks/known/quarantine/{entry}/release"
    alice, mo, ada = site.login("alice"), site.login("mo"), site.login("ada")
    seen = alice.get("/ui/banks/known").text
    assert "Quarantined entries" in seen and f"#{entry}" in seen and release not in seen
    mine = mo.get("/ui/banks/known").text
    assert "shown to child-safety specialists and admins" in mine and release not in mine
    assert mo.post(release, data={"csrf": csrf(mine)}).status_code == 403
    page = ada.get("/ui/banks/known").text
    assert release in page and "matches in the last" in page
    assert _flash(ada, ada.post(release, data={"csrf": csrf(page)})).startswith(
        f"ok: entry {entry} released"
    )
    assert json.loads(cli(site.env, "cases", "quarantined", "--json")) == []
    assert "Quarantined entries" not in ada.get("/ui/banks/known").text


def test_hashes_added_by_a_case_decision_link_to_their_case(site: Site) -> None:
    _create(site, "decided")
    case_id = next(
        c["id"]
        for c in json.loads(cli(site.env, "cases", "list", "--json"))
        if c["account_id"] == "acct-1"
    )
    alice = site.login("alice")
    token = csrf(alice.get(f"/ui/cases/{case_id}").text)
    assert alice.post(f"/ui/cases/{case_id}/claim", data={"csrf": token}).status_code == 303
    r = alice.post(
        f"/ui/cases/{case_id}/decide",
        data={"csrf": token, "decision": "confirmed", "add_to_bank": "decided", "note": ""},
    )
    assert "added to decided" in _flash(alice, r)
    page = site.login("mo").get("/ui/banks/decided").text
    assert f'<a href="/ui/cases/{case_id}">case:{case_id}</a>' in page
    assert "alice" in page  # added by the reviewer who decided
