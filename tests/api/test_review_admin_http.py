"""Rule sets, users, webhooks, the audit log and the outbox metrics over HTTP, against a real
server on both backends: what an admin changes is checked, applied at once and audited;
who may read what follows the key's scope and its user's roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from safeguard.access import KeyService
from safeguard.api.metrics import read_samples
from safeguard.outbox import enqueue, outbox_stats
from safeguard.store import Database
from tests.api.conftest import Deployment

GOOD = """\
rules:
  - name: hold-reports
    when: {kind: report}
    then: {verdict: hold, webhook: true}
  - name: try-block
    shadow: true
    when: {kind: report}
    then: {verdict: block}
"""
BAD = """\
rules:
  - name: hold-reports
    when: {kind: reprt}
    then: {verdict: hold}
  - name: known
    when: {match: {banks: [no-such-bank]}}
    then: {verdict: hold}
"""


@pytest.fixture(scope="module")
def db(deployment: Deployment) -> Iterator[Database]:
    database = Database.open(deployment.env["SAFEGUARD_DATABASE_URL"])
    yield database
    database.close()


@pytest.fixture(scope="module")
def keys(deployment: Deployment, db: Database) -> dict[str, str]:
    """Users made over HTTP, and keys acting for them: an auditor's, and a moderator's with
    every scope these routes use (so the library's role checks are what refuse it)."""
    admin = deployment.client()
    for name, role in (("ha-aud", "auditor"), ("ha-mod", "moderator")):
        r = admin.post("/v1/users", json={"name": name, "roles": [role]})
        assert r.status_code == 201, r.text
        assert r.json()["roles"] == [role] and r.json()["created_by"] == "key:admin"
    made = KeyService(db, "test")
    return {
        "auditor": made.create("aud-key", ["audit"], user="ha-aud").token,
        "mod": made.create("mod-key", ["review", "audit", "admin"], user="ha-mod").token,
        "events": deployment.key("events"),
    }


def _needed(method: str, path: str) -> str:
    """The scope a route of this module needs, as its 403 names it."""
    if path.startswith("/v1/audit"):
        return "'audit'"
    if path.startswith("/v1/rules") and method == "GET":
        return "'review' or 'admin'"
    return "'admin'"


def test_every_new_route_needs_a_key_with_its_scope(deployment: Deployment) -> None:
    spec = deployment.client().get("/openapi.json").json()
    ours = [
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        if path.startswith(("/v1/rules", "/v1/users", "/v1/webhooks", "/v1/audit"))
        for method in ops
    ]
    assert len(ours) == 17, ours
    anonymous = deployment.server.client()
    hasher = deployment.client(deployment.key("hash,match,curate,events"))
    for method, path in ours:
        url = path.replace("{version}", "1").replace("{name}", "someone")
        r = anonymous.request(method, url)
        assert r.status_code == 401, (method, path, r.text)
        r = hasher.request(method, url)
        assert r.status_code == 403, (method, path, r.text)
        assert f"lacks the {_needed(method, path)} scope" in r.json()["message"], (method, path)


def test_rules_validate_apply_history_and_report(
    deployment: Deployment, keys: dict[str, str]
) -> None:
    admin = deployment.client()
    before = admin.get("/v1/rules/history").json()
    active = admin.get("/v1/rules")
    assert active.status_code == 200, active.text
    assert active.json()["active"] and active.json()["version"] == before[0]["version"]

    ok = admin.post("/v1/rules/validate", json={"text": GOOD})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "ok": True,
        "rules": ["hold-reports", "try-block"],
        "shadow": ["try-block"],
    }
    for route in ("/v1/rules/validate", "/v1/rules"):
        r = admin.post(route, json={"text": BAD})
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["code"] == "invalid_rules" and body["ok"] is False
        lines = {p["line"] for p in body["problems"]}
        assert {3, 6} <= lines, body  # each problem at its own line
        assert any("no-such-bank" in p["message"] for p in body["problems"])
        assert "nothing was applied" in body["message"]
    assert admin.get("/v1/rules").json()["version"] == before[0]["version"]  # the old one stays

    # this server judges the next event by the new set at once (not a second later): the
    # event just before the apply has it read the old one
    account = f"acct-{uuid.uuid4().hex[:8]}"
    events = deployment.client(keys["events"])
    report_event = {"events": [{"kind": "report", "account_id": account}]}
    assert events.post("/v1/events", json=report_event).json()["verdicts"][0]["rules"] == []
    applied = admin.post("/v1/rules", json={"text": GOOD})
    (verdict,) = events.post("/v1/events", json=report_event).json()["verdicts"]
    assert verdict["verdict"] == "hold" and verdict["rules"] == ["hold-reports"], verdict
    assert applied.status_code == 201, applied.text
    version = applied.json()["version"]
    assert version == max(v["version"] for v in before) + 1
    shown = admin.get("/v1/rules").json()
    assert shown["version"] == version and shown["text"] == GOOD and shown["active"]
    assert shown["rules"] == ["hold-reports", "try-block"] and shown["applied_by"] == "key:admin"
    history = admin.get("/v1/rules/history").json()
    assert [h["version"] for h in history][:1] == [version] and history[-1]["built_in"]
    assert [h["active"] for h in history].count(True) == 1
    assert admin.get(f"/v1/rules/versions/{version}").json()["text"] == GOOD
    assert admin.get("/v1/rules/versions/0").json()["built_in"] is True
    missing = admin.get(f"/v1/rules/versions/{version + 50}")
    assert missing.status_code == 404 and "no rule set version" in missing.json()["message"]

    # the report: the live rule's verdicts, and the shadow rule, stricter than what happened
    report = admin.get("/v1/rules/report", params={"since": "1h"})
    assert report.status_code == 200, report.text
    by_rule = {(x["rule"], x["shadow"]): x for x in report.json()["rules"]}
    assert by_rule[("hold-reports", False)]["verdicts"]["hold"] >= 1
    shadow = by_rule[("try-block", True)]
    assert shadow["changed_verdict"] == shadow["stricter"] >= 1 and shadow["looser"] == 0
    until_before = admin.get("/v1/rules/report", params={"since": "1h", "until": "2h"})
    assert until_before.status_code == 400 and "after its start" in until_before.json()["message"]
    bogus = admin.get("/v1/rules/report", params={"since": "last tuesday"})
    assert bogus.status_code == 400 and "since 'last tuesday'" in bogus.json()["message"]


def test_who_may_read_and_change_rules(deployment: Deployment, keys: dict[str, str]) -> None:
    mod = deployment.client(keys["mod"])
    assert mod.get("/v1/rules").status_code == 200  # any role reads the rule set
    assert mod.get("/v1/rules/history").status_code == 200
    refused = mod.post("/v1/rules", json={"text": GOOD})  # the admin scope, not the role
    assert refused.status_code == 403 and "may not apply rule sets" in refused.json()["message"]
    version = deployment.client().get("/v1/rules").json()["version"]

    auditor = deployment.client(keys["auditor"])  # neither the review nor the admin scope
    r = auditor.get("/v1/rules")
    assert r.status_code == 403 and "'review' or 'admin'" in r.json()["message"]
    service = deployment.client(keys["events"])
    assert service.get("/v1/rules").status_code == 403
    assert service.post("/v1/rules", json={"text": GOOD}).status_code == 403
    assert deployment.client().get("/v1/rules").json()["version"] == version
    assert deployment.server.client().get("/v1/rules").status_code == 401
    assert deployment.client().post("/v1/rules", json={"text": 3}).status_code == 422
    assert deployment.client().post("/v1/rules", json={"txt": GOOD}).status_code == 422


def test_users_create_list_roles_and_disable(deployment: Deployment, keys: dict[str, str]) -> None:
    admin = deployment.client()
    name = f"u-{uuid.uuid4().hex[:8]}"
    r = admin.post("/v1/users", json={"name": name, "roles": ["moderator"], "display_name": "Ann"})
    assert r.status_code == 201, r.text
    again = admin.post("/v1/users", json={"name": name, "roles": ["moderator"]})
    assert again.status_code == 409 and "already exists" in again.json()["message"]
    for body in (
        {"name": "bad name", "roles": ["moderator"]},
        {"name": "x2", "roles": ["overlord"]},
        {"name": "x3", "roles": []},
        {"name": "x4", "roles": ["admin"], "display_name": "a\x00b"},
        {"name": "x5", "roles": ["admin"], "extra": 1},
    ):
        assert admin.post("/v1/users", json=body).status_code == 422, body
    listed = {u["name"]: u for u in admin.get("/v1/users").json()}
    assert {"ha-aud", "ha-mod", name} <= set(listed)
    assert listed[name]["display_name"] == "Ann" and listed[name]["disabled_at"] is None
    assert all(n not in listed for n in ("x2", "x3", "x4", "x5"))

    r = admin.put(f"/v1/users/{name}/roles", json={"roles": ["child_safety", "moderator"]})
    assert r.status_code == 200 and r.json()["roles"] == ["moderator", "child_safety"]
    r = admin.post(f"/v1/users/{name}/disable")
    assert r.status_code == 200 and r.json()["disabled_at"] is not None
    assert admin.put("/v1/users/nobody/roles", json={"roles": ["admin"]}).status_code == 404
    assert admin.post("/v1/users/nobody/disable").status_code == 404
    assert admin.post("/v1/users/bad%20name/disable").status_code == 422

    mod = deployment.client(keys["mod"])  # the admin scope, but a moderator
    assert mod.get("/v1/users").status_code == 403
    assert mod.post("/v1/users", json={"name": "sneaky", "roles": ["admin"]}).status_code == 403
    assert deployment.client(keys["auditor"]).get("/v1/users").status_code == 403  # scope

    trail = deployment.client(keys["auditor"]).get("/v1/audit", params={"subject": f"user:{name}"})
    entries = trail.json()["items"]
    assert [e["action"] for e in entries] == ["user.create", "user.roles", "user.disable"]
    assert {e["actor"] for e in entries} == {"key:admin"}
    assert entries[1]["detail"] == {"before": ["moderator"], "after": ["moderator", "child_safety"]}


def test_audit_log_for_auditors_only(deployment: Deployment, keys: dict[str, str]) -> None:
    auditor = deployment.client(keys["auditor"])
    r = auditor.get("/v1/audit", params={"action": "user.*"})
    assert r.status_code == 200, r.text
    created = [e for e in r.json()["items"] if e["action"] == "user.create"]
    assert {"user:ha-aud", "user:ha-mod"} <= {e["subject"] for e in created}
    assert all(e["action"].startswith("user.") for e in r.json()["items"])
    first = auditor.get("/v1/audit", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_after"] == first["items"][0]["seq"]
    second = auditor.get("/v1/audit", params={"after": first["next_after"], "limit": 1000})
    assert second.json()["items"][0]["seq"] > first["next_after"]
    assert second.json()["next_after"] is None
    total = len(first["items"]) + len(second.json()["items"])

    verified = auditor.get("/v1/audit/verify")
    assert verified.status_code == 200, verified.text
    report = verified.json()
    assert report["ok"] is True and report["first_bad"] is None and report["entries"] >= total
    assert set(report) == {"ok", "entries", "first_bad", "reason", "checkpoints", "signed_through"}

    no_audit = deployment.key("admin")
    mod = deployment.client(keys["mod"])  # the audit scope, but a moderator
    for route in ("/v1/audit", "/v1/audit/verify"):
        r = mod.get(route)
        assert r.status_code == 403 and "may not" in r.json()["message"], r.text
        r = deployment.client(no_audit).get(route)  # an admin key without the audit scope
        assert r.status_code == 403 and "'audit' scope" in r.json()["message"], r.text
    assert auditor.get("/v1/audit", params={"limit": 0}).status_code == 422
    assert auditor.get("/v1/audit", params={"subject": "a\x00"}).status_code == 422
    assert auditor.get("/v1/audit", params={"after": -1}).status_code == 422


def _gauges(text: str) -> dict[str, float]:
    """The outbox samples of a /metrics answer (parsed as Prometheus does: it must be valid)."""
    return read_samples(text, "safeguard_outbox_")


def test_webhooks_add_list_fail_replay_and_metrics(
    deployment: Deployment, keys: dict[str, str], db: Database
) -> None:
    admin = deployment.client()
    name = f"wh-{uuid.uuid4().hex[:8]}"
    url = "https://hooks.example.org/safeguard?v=1"
    r = admin.post("/v1/webhooks", json={"name": name, "url": url, "topics": ["verdict"]})
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    assert len(secret) >= 40 and r.json()["topics"] == ["verdict"]
    given = admin.post(
        "/v1/webhooks", json={"name": name + "-b", "url": url, "secret": "s" * 20}
    ).json()
    assert "secret" not in given and given["topics"] == ["verdict", "decision", "quarantine"]
    listed = admin.get("/v1/webhooks")
    assert {name, name + "-b"} <= {e["name"] for e in listed.json()}
    assert "secret" not in listed.text and secret not in listed.text and "s" * 20 not in listed.text
    dup = admin.post("/v1/webhooks", json={"name": name, "url": url})
    assert dup.status_code == 409 and "already exists" in dup.json()["message"]
    for body in (
        {"name": "w1", "url": "ftp://example.org/"},
        {"name": "w1", "url": "https://u:pw@example.org/"},
        {"name": "w1", "url": "https://example.org/a b"},
        {"name": "w 1", "url": url},
        {"name": "w1", "url": url, "topics": ["verdicts"]},
        {"name": "w1", "url": url, "secret": "short"},
    ):
        assert admin.post("/v1/webhooks", json=body).status_code == 422, body
    assert admin.delete(f"/v1/webhooks/{name}-b").status_code == 200

    # two messages for the endpoint; removing it fails them, replay sends them again
    with db.write_transaction() as s:
        for n in (1, 2):
            enqueue(s, "verdict", {"n": n}, f"http-test-{name}-{n}")
    ours = [f"http-test-{name}-{n}:{name}" for n in (1, 2)]
    gauges = _gauges(admin.get("/metrics").text)
    assert gauges['safeguard_outbox_jobs{state="pending"}'] >= 2
    assert gauges["safeguard_outbox_oldest_pending_seconds"] >= 0
    removed = admin.delete(f"/v1/webhooks/{name}")
    assert removed.status_code == 200 and removed.json()["name"] == name
    assert admin.delete(f"/v1/webhooks/{name}").status_code == 404  # gone
    failed = [j for j in admin.get("/v1/webhooks/failed").json() if j["idempotency_key"] in ours]
    assert len(failed) == 2 and all("was removed" in j["last_error"] for j in failed)
    first, second = (j["id"] for j in failed)
    r = admin.post("/v1/webhooks/replay", json={"job_id": first})
    assert r.status_code == 400 and "no longer exists" in r.json()["message"]

    assert admin.post("/v1/webhooks", json={"name": name, "url": url}).status_code == 201
    r = admin.post("/v1/webhooks/replay", json={"job_id": first})
    assert r.status_code == 200, r.text
    assert [(j["id"], j["state"], j["attempts"]) for j in r.json()["replayed"]] == [
        (first, "pending", 0)
    ]
    again = admin.post("/v1/webhooks/replay", json={"job_id": first})
    assert again.status_code == 400 and "not failed" in again.json()["message"]
    r = admin.post("/v1/webhooks/replay", json={"all_failed": True})
    assert second in [j["id"] for j in r.json()["replayed"]]
    assert admin.get("/v1/webhooks/failed").json() == []
    for body in ({}, {"job_id": first, "all_failed": True}, {"all_failed": False}, {"job_id": 0}):
        assert admin.post("/v1/webhooks/replay", json=body).status_code == 422, body

    # /metrics reports the store's outbox as it is now
    gauges = _gauges(admin.get("/metrics").text)
    stats = outbox_stats(db)
    for state in ("pending", "delivering", "delivered", "failed"):
        assert gauges[f'safeguard_outbox_jobs{{state="{state}"}}'] == stats[state], state
    assert stats["failed"] == 0 and stats["pending"] >= 2
    assert gauges["safeguard_outbox_oldest_pending_seconds"] > 0

    mod = deployment.client(keys["mod"])  # the admin scope, but a moderator
    assert mod.get("/v1/webhooks").status_code == 403
    assert mod.post("/v1/webhooks/replay", json={"all_failed": True}).status_code == 403
    trail = deployment.client(keys["auditor"]).get("/v1/audit", params={"action": "webhook.*"})
    actions = [e["action"] for e in trail.json()["items"] if e["subject"] == f"webhook:{name}"]
    assert actions == ["webhook.add", "webhook.remove", "webhook.add"]
    assert any(e["action"] == "webhook.replay" for e in trail.json()["items"])
