"""A form upload over the server's body limit gets a page saying so (the API keeps its JSON
413), and nothing of it is imported."""

from __future__ import annotations

import json

import httpx

from tests.api.conftest import Server
from tests.web.conftest import PASSWORD, Site, cli, csrf


def test_an_oversized_upload_to_a_form_is_an_html_page(site: Site) -> None:
    server = Server({**site.env, "SAFEGUARD_MAX_UPLOAD_BYTES": "4000"})
    try:
        c = httpx.Client(base_url=server.url, timeout=30)
        r = c.post("/ui/login", data={"name": "ada", "password": PASSWORD, "next": "/ui/"})
        assert r.status_code == 303
        token = csrf(c.get("/ui/banks/known").text)
        before = json.loads(cli(site.env, "bank", "show", "known", "--json"))
        body = "".join(f"pdq {'%064x' % (i + 1)}\n" for i in range(200)).encode()
        r = c.post(
            "/ui/banks/known/import",
            data={"csrf": token},
            files={"file": ("big.txt", body, "text/plain")},
        )
        assert r.status_code == 413
        assert r.headers["content-type"].startswith("text/html")
        assert "larger than the limit of 4000 bytes" in r.text
        after = json.loads(cli(site.env, "bank", "show", "known", "--json"))
        assert after == before
        # the API answers the same refusal as JSON
        r = c.post("/v1/events", content=b"x" * 5000, headers={"content-type": "application/json"})
        assert r.status_code in (401, 413) and r.headers["content-type"] == "application/json"
    finally:
        server.stop()
