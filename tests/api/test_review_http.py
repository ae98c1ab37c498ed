"""The act-and-review loop over HTTP, as a platform and its reviewers use it: events in,
verdicts out, cases seen only by those allowed, claims, decisions that feed banks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import Deployment, make_key
from tests.conftest import run_safeguard


@pytest.fixture(scope="module")
def people(deployment: Deployment) -> dict[str, str]:
    """Keys: the platform's (events), a specialist's and a moderator's (review)."""
    env = deployment.env
    for name, role in (("h-spec", "child_safety"), ("h-mod", "moderator")):
        r = run_safeguard(["users", "add", name, "--role", role], env)
        assert r.returncode == 0, r.stderr
    return {
        "platform": make_key(env, "platform", "events"),
        "spec": make_key(env, "spec-key", "review", "--user", "h-spec"),
        "mod": make_key(env, "mod-key", "review", "--user", "h-mod"),
    }


def test_upload_match_case_claim_confirm_and_roles(
    deployment: Deployment, people: dict[str, str], train_images: list[Path], bank_name: str
) -> None:
    admin = deployment.client()
    assert admin.post("/v1/banks", json={"name": bank_name}).status_code == 201
    target = bank_name + "_C"
    assert admin.post("/v1/banks", json={"name": target}).status_code == 201
    pdq = []
    for img in train_images[10:12]:
        with img.open("rb") as f:
            r = admin.post(
                f"/v1/banks/{bank_name}/files", files={"file": (img.name, f, "image/jpeg")}
            )
        assert r.status_code == 201, r.text
        pdq.append(r.json()["file"]["pdq"])
    platform = deployment.client(people["platform"])
    account = f"acct-{bank_name}"
    r = platform.post(
        "/v1/events",
        json={"events": [{"kind": "upload", "account_id": account, "hashes": {"pdq": pdq[0]}}]},
    )
    assert r.status_code == 200, r.text
    (v1,) = r.json()["verdicts"]
    assert v1["verdict"] == "hold" and v1["case_id"]
    # the file itself, multipart: the second match joins the case
    with train_images[11].open("rb") as f:
        r = platform.post(
            "/v1/events/upload",
            files={"file": ("x.jpg", f, "image/jpeg")},
            data={"account_id": account},
        )
    assert r.status_code == 200, r.text
    assert r.json()["case_id"] == v1["case_id"] and r.json()["verdict"] == "hold"
    case_id = v1["case_id"]

    # the platform's events key cannot read cases; a moderator cannot see this one
    assert platform.get(f"/v1/cases/{case_id}").status_code == 403
    mod = deployment.client(people["mod"])
    assert mod.get(f"/v1/cases/{case_id}").status_code == 403
    assert all(c["id"] != case_id for c in mod.get("/v1/cases").json())
    spec = deployment.client(people["spec"])
    assert any(c["id"] == case_id for c in spec.get("/v1/cases").json())
    shown = spec.get(f"/v1/cases/{case_id}").json()
    assert (
        shown["account_id"] == account
        and len([i for i in shown["items"] if i["kind"] == "match"]) == 2
    )
    assert spec.post(f"/v1/cases/{case_id}/claim").json()["claimed_by"] == "h-spec"
    r = spec.post(
        f"/v1/cases/{case_id}/decision", json={"decision": "confirmed", "add_to_bank": target}
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["added"]) == 2
    r = spec.post(f"/v1/cases/{case_id}/decision", json={"decision": "not_abuse"})
    assert r.status_code == 409 and "h-spec" in r.json()["message"]
    content = admin.get(f"/v1/banks/{target}/content").json()["items"]
    assert {c["source"] for c in content} == {f"case:{case_id}"}


def test_bad_events_over_http(deployment: Deployment, people: dict[str, str]) -> None:
    platform = deployment.client(people["platform"])
    r = platform.post(
        "/v1/events",
        json={
            "events": [
                {"kind": "upload", "account_id": "a", "path": "/etc/passwd"},
                {"kind": "nope"},
                {"kind": "report", "account_id": "a"},
            ]
        },
    )
    assert r.status_code == 200
    a, b, c = r.json()["verdicts"]
    assert "path" in a["error"] and "unknown event kind" in b["error"] and c["verdict"] == "allow"
    assert platform.post("/v1/events", json={"events": []}).status_code == 422
    assert (
        deployment.client(people["mod"])
        .post("/v1/events", json={"events": [{"kind": "report", "account_id": "a"}]})
        .status_code
        == 403
    )
