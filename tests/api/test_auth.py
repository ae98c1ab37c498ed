"""Every route but the health checks needs an API key with the right scope (over real HTTP)."""

from __future__ import annotations

import re
import time

import pytest

from tests.api.conftest import ALL_SCOPES, Deployment

PUBLIC = {
    "/status",
    "/status/live",
    "/site-map",
    "/livez",
    "/readyz",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}


def scope_of(method: str, path: str) -> tuple[str, ...]:
    """The scopes any one of which a route accepts."""
    if path.startswith(("/v1/hash", "/h/")):
        return ("hash",)
    if path.startswith(("/v1/match", "/v1/index", "/m/")):
        return ("match",)
    if path.startswith(("/v1/banks", "/c/")):
        return ("curate",)
    if path.startswith("/v1/events"):
        return ("events",)
    if path.startswith(("/v1/cases", "/v1/quarantine", "/v1/referrals")):
        return ("review",)
    if path.startswith("/v1/audit"):
        return ("audit",)
    if path in ("/v1/exchange/feeds/{feed}/entries", "/v1/exchange/psi/{list_name}") or (
        path == "/v1/exchange/feeds/{feed}/opinions" and method == "POST"
    ):
        return ("exchange",)
    if path.startswith("/v1/rules") and method == "GET":
        return ("review", "admin")
    return ("admin",)


def routes(dep: Deployment) -> list[tuple[str, str]]:
    spec = dep.client().get("/openapi.json").json()
    out = []
    for path, ops in spec["paths"].items():
        for method in ops:
            out.append((method.upper(), path))
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{content_id\}", "1", re.sub(r"\{[a-z_]+\}", "SOME_BANK", path))


def test_every_route_is_listed_and_guarded(deployment: Deployment) -> None:
    found = routes(deployment)
    assert len(found) >= 35  # v1, HMA and admin routes
    anonymous = deployment.client(token="")
    for method, path in found:
        if path in PUBLIC:
            continue
        r = anonymous.request(method, concrete(path))
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert "API key" in r.json()["message"]
    for path in ("/status", "/livez", "/readyz"):
        assert anonymous.get(path).status_code == 200


def test_wrong_scope_is_forbidden(deployment: Deployment) -> None:
    keys: dict[tuple[str, ...], str] = {}
    for method, path in routes(deployment):
        if path in PUBLIC:
            continue
        needed = scope_of(method, path)
        if needed not in keys:  # a key with every scope but these
            others = [x for x in ALL_SCOPES.split(",") if x not in needed]
            keys[needed] = deployment.key(",".join(others))
        r = deployment.client(keys[needed]).request(method, concrete(path))
        assert r.status_code == 403, (method, path, r.text)
        assert any(n in r.json()["message"] for n in needed)


def test_bad_revoked_and_malformed_keys(deployment: Deployment) -> None:
    token = deployment.key("match")
    c = deployment.client(token)
    assert c.get("/v1/index/status").status_code == 200
    assert (
        deployment.client("sgk_000000000000_" + "x" * 43).get("/v1/index/status").status_code == 401
    )
    assert deployment.client("not-a-key").get("/v1/index/status").status_code == 401
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert deployment.client(tampered).get("/v1/index/status").status_code == 401
    name = next(
        k["name"]
        for k in deployment.client().get("/v1/keys").json()
        if token.startswith(f"sgk_{k['prefix']}_")
    )
    assert deployment.client().delete(f"/v1/keys/{name}").json()["revoked_at"] is not None
    deadline = time.monotonic() + 5
    while c.get("/v1/index/status").status_code != 401:
        assert time.monotonic() < deadline, "revoked key still accepted after 5 s"
        time.sleep(0.2)


def test_rate_limit_per_key(deployment: Deployment) -> None:
    token = deployment.key("match", rate_limit=5)
    c = deployment.client(token)
    codes = [c.get("/v1/index/status").status_code for _ in range(8)]
    assert codes[:5] == [200] * 5
    assert 429 in codes[5:]
    r = c.get("/v1/index/status")
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert "rate limit" in r.json()["message"]
    # another key is not affected
    assert deployment.client().get("/v1/index/status").status_code == 200


def test_rate_limits_beyond_what_a_store_holds_are_refused(deployment: Deployment) -> None:
    from tests.conftest import run_safeguard

    c = deployment.client()
    for limit in (0, 10**12, 176897352809.0):  # the last from schemathesis (a 500 on PostgreSQL)
        r = c.post("/v1/keys", json={"name": "huge", "scopes": ["match"], "rate_limit": limit})
        assert r.status_code in (400, 422) and "rate_limit" in r.text, (limit, r.text)
    r = run_safeguard(
        ["keys", "create", "huge", "--scope", "match", "--rate-limit", str(10**12)], deployment.env
    )
    assert r.returncode == 2 and "rate limit must be a whole number" in r.stderr, r.stderr
    assert "huge" not in c.get("/v1/keys").text


@pytest.mark.parametrize("scopes", ["", "match,bogus"])
def test_keys_cli_refuses_bad_scopes(deployment: Deployment, scopes: str) -> None:
    from tests.conftest import run_safeguard

    r = run_safeguard(["keys", "create", "bad", "--scope", scopes or ","], deployment.env)
    assert r.returncode == 2
    assert "scope" in r.stderr and "Traceback" not in r.stderr


def test_keys_cli_lists_and_revokes(deployment: Deployment) -> None:
    from tests.conftest import Cli

    cli = Cli(deployment.env)  # in this process: the tests above run the command as a process
    assert cli("keys", "create", "cli-key", "--scope", "hash").exit_code == 0
    listed = cli.json("keys", "list")
    assert isinstance(listed, list)
    entry = next(k for k in listed if k["name"] == "cli-key")
    assert entry["scopes"] == ["hash"] and "key" not in entry and "secret_sha256" not in entry
    assert cli("keys", "revoke", "cli-key").exit_code == 0
    listed = cli.json("keys", "list")
    assert isinstance(listed, list) and all(k["name"] != "cli-key" for k in listed)
    r = cli("keys", "revoke", "no-such-key")
    assert r.exit_code == 2 and "no API key named" in r.stderr
