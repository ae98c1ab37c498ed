"""`?url=` fetching: off by default; when on, only allowlisted hosts, never loopback or
private addresses (unless a closed test network says so), no redirects, size-limited."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, make_key, store_env
from tests.conftest import temporary_database


@pytest.fixture
def media_site(train_images: list[Path]) -> Iterator[str]:
    image = train_images[0].read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/photo.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(image)))
                self.end_headers()
                self.wfile.write(image)
            elif self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data")
                self.end_headers()
            elif self.path == "/page":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"hi")
            elif self.path == "/huge":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"\0" * 300_000)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_url_fetch_rules(
    tmp_path: Path, start_server: Callable[..., Server], media_site: str, train_images: list[Path]
) -> None:
    with temporary_database("sqlite", tmp_path) as url:
        base = store_env(tmp_path / "home", url, SAFEGUARD_MAX_UPLOAD_BYTES="250000")
        key = make_key(base, "admin", "hash,match,curate,admin")
        strict = start_server({**base, "SAFEGUARD_URL_FETCH_HOSTS": "127.0.0.1,example.org"})
        c = strict.client(key)
        # allowlisted, but loopback: refused before any connection
        r = c.get("/h/hash", params={"url": f"{media_site}/photo.jpg"})
        assert r.status_code == 403 and "loopback or private" in r.json()["message"]
        r = c.get("/h/hash", params={"url": "http://localhost/photo.jpg"})
        assert r.status_code == 403 and "allowlist" in r.json()["message"]
        for bad in (
            "file:///etc/passwd",
            "ftp://127.0.0.1/x",
            "http://user:pw@127.0.0.1/",
            # a NUL would cut the name short at the resolver: refused as a bad host name
            "http://evil.test%00.example.org/a.jpg",
            "http://evil.test\x00.example.org/a.jpg",
        ):
            assert c.get("/h/hash", params={"url": bad}).status_code == 400, bad

        # a closed test network: private addresses allowed on purpose
        lab = start_server(
            {
                **base,
                "SAFEGUARD_URL_FETCH_HOSTS": "127.0.0.1",
                "SAFEGUARD_URL_FETCH_ALLOW_PRIVATE": "1",
            }
        )
        c = lab.client(key)
        fetched = c.get("/h/hash", params={"url": f"{media_site}/photo.jpg"})
        assert fetched.status_code == 200
        uploaded = c.post("/h/hash", files={"photo": ("p.jpg", train_images[0].read_bytes())})
        assert fetched.json() == uploaded.json()
        c.post("/c/banks", json={"name": "FETCHED"})
        added = c.post("/c/bank/FETCHED/content", params={"url": f"{media_site}/photo.jpg"})
        assert added.status_code == 200
        lk = c.get("/m/lookup", params={"url": f"{media_site}/photo.jpg"}).json()
        assert lk == {
            "pdq": {"FETCHED": [{"bank_content_id": added.json()["id"], "distance": "0"}]}
        }
        r = c.get("/h/hash", params={"url": f"{media_site}/redirect"})
        assert r.status_code == 400 and "302" in r.json()["message"]
        r = c.get("/h/hash", params={"url": f"{media_site}/huge"})
        assert r.status_code == 413
        r = c.get("/h/hash", params={"url": f"{media_site}/page"})
        assert r.status_code == 400 and "ContentType" in r.json()["message"]
        r = c.get("/h/hash", params={"url": f"{media_site}/missing"})
        assert r.status_code == 400 and "404" in r.json()["message"]
