"""The Rules pages over HTTP: the active set rule by rule with its history and versions,
Validate (every problem at its line, nothing applied) and Apply, switching a rule to shadow
mode and back (a new version each time, the YAML's comments kept), applying an old version
again, the report of what each rule did, and admins only."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx

from tests.web.conftest import RULES, Site, cli, csrf

COMMENTED = (
    "# Reviewed by the safety team; keep this comment.\n"
    + RULES
    + """\
  # tried on live traffic before it decides
  - name: report-hold-trial
    shadow: true
    when: {kind: report}
    then: {verdict: hold}
"""
)

BROKEN = """\
rules:
  - name: Bad Name
    when: {kind: upload}
    then: {verdict: hold}
  - name: fine-name
    when: {kind: nothing}
    then: {verdict: maybe}
"""


def active(site: Site) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(cli(site.env, "rules", "show", "--json"))
    return shown


def version(site: Site) -> int:
    v = active(site)["version"]
    assert isinstance(v, int)
    return v


def flash(c: httpx.Client, r: httpx.Response) -> str:
    """Follow a form's redirect; the message it flashed."""
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"])
    found = re.search(r'<div class="flash (ok|error)"[^>]*>(.*?)</div>', page.text, re.S)
    assert found, "no message on the page"
    return f"{found.group(1)}: {html.unescape(found.group(2))}"


def row_of(page: str, rule: str) -> str:
    found = re.search(
        rf"<tr[^>]*>\s*<td[^>]*>(?:<strong[^>]*>)?{re.escape(rule)}\b.*?</tr>", page, re.S
    )
    assert found, f"no row for {rule}"
    return found.group(0)


def numbers(row: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="num">(\d+)', row)]


def test_an_admin_sees_the_active_set_its_rules_and_history(site: Site) -> None:
    c = site.login("ada")
    r = c.get("/ui/rules")
    assert r.status_code == 200, r.text
    page = r.text
    v = version(site)
    assert f"version {v}" in page
    assert "rules.yaml" in page  # the source: the CLI applied the seeded file
    known = row_of(page, "known-image")
    assert "upload" in known and "a bank match" in known and "hold" in known
    assert "high priority" in known and "child safety" in known and "Make shadow" in known
    pathways = row_of(page, "pathways-high")
    assert "pathways score ≥ 0.8" in pathways and "urgent priority" in pathways
    # history: every version and the built-in one, each with its YAML
    assert f'href="/ui/rules/versions/{v}"' in page and 'href="/ui/rules/versions/0"' in page
    shown = c.get(f"/ui/rules/versions/{v}").text
    assert '<pre class="code">' in shown and "name: known-image" in shown
    built_in = c.get("/ui/rules/versions/0").text
    assert "default-known-match" in built_in and "Apply this version again" in built_in
    assert c.get("/ui/rules/versions/999").status_code == 404


def test_only_admins_see_or_change_rules(site: Site) -> None:
    before = version(site)
    for name in ("mo", "alice", "aud"):
        c = site.login(name)
        for path in ("/ui/rules", "/ui/rules/report", "/ui/rules/versions/1"):
            r = c.get(path)
            assert r.status_code == 403, (name, path)
            assert "may not" in r.text
        token = csrf(c.get("/ui/account").text)
        r = c.post(
            "/ui/rules/shadow",
            data={"csrf": token, "rule": "known-image", "shadow": "1", "version": str(before)},
        )
        assert r.status_code == 403
        r = c.post("/ui/rules", data={"csrf": token, "text": RULES, "action": "apply"})
        assert r.status_code == 403
    assert version(site) == before


def test_validate_shows_every_problem_at_its_line_and_applies_nothing(site: Site) -> None:
    c = site.login("ada")
    before = version(site)
    token = csrf(c.get("/ui/rules").text)
    r = c.post("/ui/rules", data={"csrf": token, "text": BROKEN, "action": "validate"})
    assert r.status_code == 200
    problems = re.search(r'<ol class="problems" id="problems">(.*?)</ol>', r.text, re.S)
    assert problems, r.text
    items = [
        html.unescape(re.sub(r"<[^>]+>", "", i))
        for i in re.findall(r"<li>(.*?)</li>", problems.group(1), re.S)
    ]
    assert len(items) == 3, items
    assert items[0].startswith("line 2") and "bad name 'Bad Name'" in items[0]
    assert items[1].startswith("line 6") and "'nothing'" in items[1]
    assert items[2].startswith("line 7") and "verdict" in items[2]
    assert "Bad Name" in r.text.split('id="rules-text"', 1)[1]  # the text stays to fix
    assert version(site) == before
    # Apply refuses the same text the same way
    r = c.post("/ui/rules", data={"csrf": token, "text": BROKEN, "action": "apply"})
    assert r.status_code == 400 and "nothing was applied" in r.text and "line 7" in r.text
    assert version(site) == before
    # a valid text validates without being applied
    r = c.post("/ui/rules", data={"csrf": token, "text": COMMENTED, "action": "validate"})
    assert r.status_code == 200 and 'id="valid"' in r.text and "4 rules, 1 in shadow mode" in r.text
    assert version(site) == before


def test_apply_makes_a_new_version(site: Site) -> None:
    c = site.login("ada")
    before = version(site)
    token = csrf(c.get("/ui/rules").text)
    text = COMMENTED.replace("\n", "\r\n")  # as a browser sends a textarea
    r = c.post("/ui/rules", data={"csrf": token, "text": text, "action": "apply"})
    assert flash(c, r) == f"ok: applied rule set version {before + 1}: 4 rule(s), 1 in shadow mode"
    now = active(site)
    assert now["version"] == before + 1 and now["text"] == COMMENTED
    assert now["shadow"] == ["report-hold-trial"]
    page = c.get("/ui/rules").text
    assert "web UI form" in page  # the source of this version
    assert "Make live" in row_of(page, "report-hold-trial")


def test_switch_a_rule_to_shadow_and_back(site: Site) -> None:
    c = site.login("ada")
    start = version(site)
    if "Reviewed by the safety team" not in str(active(site)["text"]):
        cli_apply(site, COMMENTED)
        start += 1
    token = csrf(c.get("/ui/rules").text)

    def switch(rule: str, shadow: bool, seen: int) -> str:
        r = c.post(
            "/ui/rules/shadow",
            data={
                "csrf": token,
                "rule": rule,
                "shadow": "1" if shadow else "0",
                "version": str(seen),
            },
        )
        return flash(c, r)

    said = switch("user-report", True, start)
    assert (
        said.startswith("ok: rule user-report is now in shadow mode")
        and f"version {start + 1}" in said
    )
    now = active(site)
    assert now["version"] == start + 1
    assert sorted(now["shadow"]) == ["report-hold-trial", "user-report"]
    text = str(now["text"])
    assert "# Reviewed by the safety team; keep this comment." in text
    assert "  # tried on live traffic before it decides" in text
    assert "  - name: user-report\n    shadow: true\n    description:" in text
    assert "Make live" in row_of(c.get("/ui/rules").text, "user-report")

    # a form from before the switch is refused: it would undo what it did not see
    said = switch("known-image", True, start)
    assert said.startswith("error: the rule set changed") and version(site) == start + 1

    said = switch("user-report", False, start + 1)
    assert said == f"ok: rule user-report is now live (rule set version {start + 2})"
    now = active(site)
    assert now["version"] == start + 2 and now["shadow"] == ["report-hold-trial"]
    assert "  - name: user-report\n    shadow: false\n" in str(now["text"])
    assert "# Reviewed by the safety team; keep this comment." in str(now["text"])

    # an unknown rule is named, and nothing is applied
    said = switch("no-such-rule", True, start + 2)
    assert said.startswith("error: the rule set has no rule named 'no-such-rule'")
    assert version(site) == start + 2


def test_an_old_version_can_be_applied_again(site: Site) -> None:
    c = site.login("ada")
    before = version(site)
    page = c.get("/ui/rules/versions/1").text
    r = c.post("/ui/rules/versions/1/restore", data={"csrf": csrf(page)})
    assert flash(c, r) == f"ok: version 1 applied again as version {before + 1}"
    assert active(site)["text"] == RULES


def test_the_report_shows_what_each_rule_did(site: Site) -> None:
    c = site.login("ada")
    if "report-hold-trial" not in str(active(site)["text"]):
        cli_apply(site, COMMENTED)
    events = site.home / "reports.jsonl"
    events.write_text(
        "".join(
            json.dumps({"kind": "report", "account_id": f"acct-r{i}", "reporter": "u1"}) + "\n"
            for i in range(2)
        )
    )
    cli(site.env, "events", "submit", str(events), "--no-progress")
    r = c.get("/ui/rules/report?days=7")
    assert r.status_code == 200
    page = r.text
    # the seed's three matched uploads, live
    known = row_of(page, "known-image")
    assert "live" in known and numbers(known)[:3] == [3, 3, 3]
    # the shadow rule: two reports it would have held, both stricter than the actual allow
    trial = row_of(page, "report-hold-trial")
    assert "shadow" in trial
    assert numbers(trial) == [2, 2, 2, 2, 2, 0, 0]
    assert "hold" in trial
    assert c.get("/ui/rules/report?days=0").status_code == 400
    assert "last 30 days" in c.get("/ui/rules/report?days=30").text


def cli_apply(site: Site, text: str) -> None:
    path = site.home / "commented.yaml"
    path.write_text(text)
    cli(site.env, "rules", "apply", str(path))
