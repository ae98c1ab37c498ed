"""URL lists over HTTP: listed through the curation API, looked up with `GET /v1/match?url=`
(the addresses and the expected answers are those of tests/signals/test_urls.py)."""

from __future__ import annotations

from tests.api.conftest import Deployment
from tests.signals.test_urls import LIST, QUERIES


def test_a_url_list_matches_over_http(deployment: Deployment, bank_name: str) -> None:
    admin = deployment.client()
    assert admin.post("/v1/banks", json={"name": bank_name}).status_code == 201
    for url in LIST:
        r = admin.post(f"/v1/banks/{bank_name}/content", json={"signals": {"url": url}})
        assert r.status_code == 201, r.text
    bad = admin.post(f"/v1/banks/{bank_name}/content", json={"signals": {"url": "ftp://x.y"}})
    assert bad.status_code == 400 and "http or https" in bad.text
    match = deployment.client(deployment.key("match"))
    for query, want in QUERIES.items():
        r = match.get("/v1/match", params={"url": query, "banks": bank_name})
        assert r.status_code == 200, r.text
        assert bool(r.json()["matches"]) == (want is not None), (query, r.json())
    r = match.get("/v1/match", params={"url": "javascript:alert(1)"})
    assert r.status_code == 400 and "cannot be read" in r.text
