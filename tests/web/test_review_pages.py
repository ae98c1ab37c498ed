"""The review queue and case pages over HTTP: filters on both stores, claims between two
reviewers, previews blurred at each viewer's strength and revealed one at a time (each
reveal audited), decisions and their errors, and what a moderator may not see."""

from __future__ import annotations

import io
import json
import re

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.web.conftest import Site, cli, csrf


def listed(c: httpx.Client, query: str = "") -> list[int]:
    r = c.get(f"/ui/queue{query}")
    assert r.status_code == 200, r.text
    return [int(n) for n in re.findall(r'class="case-link">#(\d+)<', r.text)]


def case_ids(site: Site) -> dict[str, int]:
    cases = json.loads(cli(site.env, "cases", "list", "--json"))
    return {c["account_id"]: int(c["id"]) for c in cases}


@pytest.mark.parametrize("which", ["site", "pg_site"])
def test_queue_filters_by_bank_rule_age_band_and_reason(
    which: str, request: pytest.FixtureRequest
) -> None:
    site: Site = request.getfixturevalue(which)
    ids = case_ids(site)
    c = site.login("ada")
    everything = listed(c)
    assert sorted(everything) == sorted(ids.values())
    # highest priority first: the pathways case (3), then the matches (2), then the report
    assert everything[0] == ids["acct-5"] and everything[-1] == ids["acct-4"]
    uploads = {ids["acct-1"], ids["acct-2"], ids["acct-3"]}
    assert set(listed(c, "?bank=known")) == uploads
    assert set(listed(c, "?rule=user-report")) == {ids["acct-4"]}
    assert listed(c, "?rule=report") == []  # a whole rule name, not a part of one
    assert set(listed(c, "?age_band=adult")) == uploads | {ids["acct-5"]}
    assert listed(c, "?reason=OFF_PLATFORM_HANDLES") == [ids["acct-5"]]
    assert listed(c, "?reason=NO_SUCH_CODE") == []
    assert listed(c, "?bank=known&rule=user-report") == []
    r = c.get("/ui/queue?age_band=ancient")
    assert r.status_code == 400 and "unknown age band" in r.text


def test_a_moderator_sees_only_other_cases_and_gets_403_for_the_rest(site: Site) -> None:
    ids = case_ids(site)
    mo = site.login("mo")
    assert set(listed(mo)) == {ids["acct-4"], ids["acct-5"]}
    r = mo.get(f"/ui/cases/{ids['acct-1']}")
    assert r.status_code == 403 and "may not" in r.text
    page = mo.get(f"/ui/cases/{ids['acct-4']}").text
    r = mo.post(f"/ui/cases/{ids['acct-1']}/claim", data={"csrf": csrf(page)})
    assert r.status_code == 403
    # an auditor sees no cases at all
    assert site.login("aud").get("/ui/queue").status_code == 403


def test_two_reviewers_cannot_hold_one_case(site: Site) -> None:
    case = case_ids(site)["acct-4"]
    ada, mo = site.login("ada"), site.login("mo")
    r = mo.post(f"/ui/cases/{case}/claim", data={"csrf": csrf(mo.get("/ui/queue").text)})
    assert r.status_code == 303
    page = ada.get(f"/ui/cases/{case}").text
    assert "mo" in page and "Claimed by you" not in page
    r = ada.post(f"/ui/cases/{case}/claim", data={"csrf": csrf(page)})
    assert r.status_code == 303
    flash = ada.get(r.headers["location"])
    assert "claimed by mo" in flash.text
    # the queue says who holds it
    row = ada.get("/ui/queue").text.split(f">#{case}<", 1)[1].split("</tr>", 1)[0]
    assert ">mo<" in row or "mo" in row
    # mo lets it go: it is back in the queue, unclaimed
    page = mo.get(f"/ui/cases/{case}").text
    mo.post(f"/ui/cases/{case}/release", data={"csrf": csrf(page)})
    row = ada.get("/ui/queue").text.split(f">#{case}<", 1)[1].split("</tr>", 1)[0]
    assert "unclaimed" in row


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)


def sharpness(png: bytes) -> float:
    grey = pixels(png).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean())


def test_previews_are_blurred_greyscale_and_revealed_one_at_a_time(site: Site) -> None:
    case = case_ids(site)["acct-2"]
    alice = site.login("alice")
    page = alice.get(f"/ui/cases/{case}").text
    items = [int(n) for n in re.findall(rf"/ui/cases/{case}/media/(\d+)/preview\.png", page)]
    assert len(items) == 1
    item = items[0]
    preview = alice.get(f"/ui/cases/{case}/media/{item}/preview.png")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(preview.content))
    assert img.mode == "L"  # greyscale
    assert max(img.size) <= 480
    # the sharp picture only after a reveal, which the audit log records
    assert alice.get(f"/ui/cases/{case}/media/{item}/full.png").status_code == 403
    r = alice.post(f"/ui/cases/{case}/media/{item}/reveal", data={"csrf": csrf(page)})
    assert r.status_code == 303
    full = alice.get(f"/ui/cases/{case}/media/{item}/full.png")
    assert full.status_code == 200
    colour = pixels(full.content)
    assert np.abs(colour[..., 0] - colour[..., 1]).mean() > 1  # in colour
    assert sharpness(full.content) > 2 * sharpness(preview.content)
    entries = [
        json.loads(line)
        for line in cli(site.env, "audit", "list", "--action", "evidence.view", "--json")
        .strip()
        .splitlines()
    ]
    reveals = [e for e in entries if e["detail"].get("purpose") == "reveal"]
    assert reveals and reveals[-1]["actor"] == "user:alice"
    assert reveals[-1]["subject"] == f"evidence:{item}"
    # another session of the same user has revealed nothing
    other = site.login("alice")
    assert other.get(f"/ui/cases/{case}/media/{item}/full.png").status_code == 403
    # hiding it puts it back under blur
    alice.post(f"/ui/cases/{case}/media/{item}/reveal", data={"csrf": csrf(page), "hide": "1"})
    assert alice.get(f"/ui/cases/{case}/media/{item}/full.png").status_code == 403


def test_revealing_one_item_blurs_the_one_before(site: Site) -> None:
    ids = case_ids(site)
    alice = site.login("alice")
    first, second = ids["acct-2"], ids["acct-3"]
    items = {}
    for case in (first, second):
        page = alice.get(f"/ui/cases/{case}").text
        items[case] = int(re.findall(rf"/ui/cases/{case}/media/(\d+)/preview", page)[0])
        alice.post(f"/ui/cases/{case}/media/{items[case]}/reveal", data={"csrf": csrf(page)})
    assert alice.get(f"/ui/cases/{second}/media/{items[second]}/full.png").status_code == 200
    assert alice.get(f"/ui/cases/{first}/media/{items[first]}/full.png").status_code == 403
    # and an item is only served under its own case
    wrong = alice.get(f"/ui/cases/{first}/media/{items[second]}/full.png")
    assert wrong.status_code == 404


def test_the_blur_strength_is_each_viewers_own(site: Site) -> None:
    case = case_ids(site)["acct-3"]
    ada = site.login("ada")
    url = f"/ui/cases/{case}/media/"
    page = ada.get(f"/ui/cases/{case}").text
    item = re.findall(rf"/ui/cases/{case}/media/(\d+)/preview", page)[0]
    blurred = ada.get(f"{url}{item}/preview.png").content
    r = ada.post("/ui/account/blur", data={"csrf": csrf(page), "blur": "0"})
    assert r.status_code == 303
    sharp = ada.get(f"{url}{item}/preview.png").content
    assert sharpness(sharp) > 2 * sharpness(blurred)
    # alice's previews are unchanged
    alice = site.login("alice")
    assert sharpness(alice.get(f"{url}{item}/preview.png").content) < sharpness(sharp) / 2
    r = ada.post("/ui/account/blur", data={"csrf": csrf(page), "blur": "400"})
    assert "from 0 to 40" in ada.get(r.headers["location"]).text
    ada.post("/ui/account/blur", data={"csrf": csrf(page), "blur": "16"})


def test_a_decision_needs_a_valid_choice_and_is_final(site: Site) -> None:
    case = case_ids(site)["acct-5"]
    ada = site.login("ada")
    page = ada.get(f"/ui/cases/{case}").text
    assert "NEW_ACCOUNT" in page and "a new account that soon contacted minors" in page
    r = ada.post(f"/ui/cases/{case}/decide", data={"csrf": csrf(page), "decision": "maybe"})
    assert "unknown decision" in ada.get(r.headers["location"]).text
    r = ada.post(
        f"/ui/cases/{case}/decide",
        data={"csrf": csrf(page), "decision": "escalate", "note": "needs a specialist"},
    )
    after = ada.get(r.headers["location"]).text
    assert "escalate" in after and "needs a specialist" in after
    shown = json.loads(cli(site.env, "cases", "show", str(case), "--json"))
    assert shown["decision"] == "escalate" and shown["child_safety"] is True
    # escalated: now a child-safety case, so the moderator loses sight of it
    assert site.login("mo").get(f"/ui/cases/{case}").status_code == 403


def test_a_wrong_address_is_a_page_not_json(site: Site) -> None:
    r = site.login("ada").get("/ui/queue?page_no=many")
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "page_no" in r.text
    r = site.login("ada").get("/ui/cases/not-a-number")
    assert r.status_code == 400 and "case_id" in r.text
