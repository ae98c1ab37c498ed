"""Bad requests get a 4xx with a JSON message that names the problem: never a 500, never a
partial write (over real HTTP, with a server whose upload limit is small: one per backend for
the module, each test with bank names of its own)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import TLS, Server, make_key, store_env
from tests.conftest import BACKENDS, temporary_database
from tests.imagegen import png_bomb

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
LIMIT = 500_000


@pytest.fixture(scope="module", params=BACKENDS)
def small(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    tmp = tmp_path_factory.mktemp("small")
    with temporary_database(request.param, tmp) as url:
        env = store_env(tmp / "home", url, SAFEGUARD_MAX_UPLOAD_BYTES=str(LIMIT))
        key = make_key(env, "admin", "hash,match,curate,admin")
        server = Server(env)
        try:
            with server.client(key) as client:
                yield client
        finally:
            server.stop()


def check(r: httpx.Response, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body["message"], str) and body["code"]
    for w in words:
        assert w in body["message"], body["message"]


def test_oversized_bodies(small: httpx.Client) -> None:
    big = b"\xff" * (LIMIT + 1)
    check(small.post("/v1/hash", files={"file": ("big.jpg", big)}), 413, "limit")
    small.post("/v1/banks", json={"name": "big"})

    def chunks() -> Iterator[bytes]:
        for _ in range(LIMIT // 10_000 + 2):
            yield b"0" * 10_000

    # no Content-Length: chunked transfer, refused once it passes the limit
    r = small.post("/v1/banks/big/import?format=txt&signal_type=pdq", content=chunks())
    check(r, 413, "limit")
    assert small.get("/v1/banks/big").json()["content_count"] == 0


def test_uploads_that_are_not_images(small: httpx.Client) -> None:
    empty = small.post("/v1/hash", files={"file": ("empty.jpg", b"")}).json()
    assert empty["error_code"] == "empty_file"
    text = small.post("/v1/hash", files={"file": ("a.jpg", b"hello")}).json()
    assert text["pdq"] is None and text["md5"] and text["error_code"]
    small.post("/v1/banks", json={"name": "media"})
    r = small.post("/v1/banks/media/files", files={"file": ("empty.jpg", b"")})
    check(r, 400, "empty")
    check(small.post("/c/bank/MEDIA/content", files={"photo": ("x.jpg", b"garbage")}), 404)
    small.post("/c/banks", json={"name": "MEDIA"})
    check(small.post("/c/bank/MEDIA/content", files={"photo": ("x.jpg", b"garbage")}), 400)
    assert small.get("/v1/banks/MEDIA").json()["content_count"] == 0


def test_wrong_content_types(small: httpx.Client) -> None:
    check(small.post("/v1/hash", content=b"raw bytes", headers={"content-type": "image/jpeg"}), 415)
    check(small.post("/v1/match/files", json={"files": []}), 415)
    r = small.post("/v1/banks", content=b"name=x", headers={"content-type": "text/plain"})
    assert r.status_code == 422 and r.json()["message"]
    r = small.post("/v1/banks", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_malformed_hashes_and_unknown_things(small: httpx.Client) -> None:
    check(small.get("/v1/match", params={"pdq": "abc"}), 400, "pdq", "64 hex")
    check(small.get("/v1/match", params={"md5": "g" * 32}), 400)
    check(small.get("/v1/match"), 400, "at least one signal")
    check(small.post("/v1/match", json={"queries": [{"banana": "1"}]}), 400, "unknown signal type")
    r = small.post("/v1/match", json={"queries": []})
    assert r.status_code == 422
    check(small.get("/v1/banks/nope"), 404, "nope")
    check(small.post("/v1/banks/nope/content", json={"signals": {"pdq": PDQ}}), 404)
    check(small.post("/v1/banks", json={"name": "bad name!"}), 400, "invalid bank name")
    r = small.post("/v1/banks", json={"name": "ok", "pdq_threshold": 999})
    assert r.status_code == 422
    small.post("/v1/banks", json={"name": "dup"})
    check(small.post("/v1/banks", json={"name": "dup"}), 409, "already exists")
    check(small.post("/v1/banks/dup/content", json={"signals": {}}), 400)
    r = small.post("/v1/banks/dup/content", json={"signals": {"pdq": PDQ}, "surprise": 1})
    assert r.status_code == 422
    check(small.get("/v1/banks/dup/export", params={"format": "xml"}), 400, "unknown format")
    r = small.post(
        "/v1/banks/dup/import",
        params={"format": "csv"},
        content=b"pdq,external_id\nnot-a-hash,1\n" + PDQ.encode() + b",2\n",
        headers={"content-type": "text/csv"},
    )
    check(r, 400, "line 2")
    assert small.get("/v1/banks/dup").json()["content_count"] == 0
    r = small.post(
        "/v1/banks/dup/import", content=b"\xff\xfe\x00bad", headers={"content-type": "text/plain"}
    )
    check(r, 400)
    check(small.post("/v1/keys", json={"name": "x", "scopes": ["root"]}), 400, "unknown scope")


def test_text_a_database_cannot_hold(small: httpx.Client) -> None:
    """NUL characters and lone surrogates (valid JSON, not storable text) are refused by name
    on both stores, and nothing is written."""
    bad_nul, bad_surrogate = "a\u0000b", '"a\\ud9abb"'
    check(small.post("/v1/banks", json={"name": "t", "description": bad_nul}), 400, "NUL")
    r = small.post(
        "/v1/banks",
        content=b'{"name": "t", "description": ' + bad_surrogate.encode() + b"}",
        headers={"content-type": "application/json"},
    )
    check(r, 422, "description", "unicode")
    assert small.get("/v1/banks/t").status_code == 404
    small.post("/v1/banks", json={"name": "t"})
    for field in ("source", "external_id", "note"):
        body = {"signals": {"pdq": PDQ}, field: bad_nul}
        check(small.post("/v1/banks/t/content", json=body), 400, "NUL")
    assert small.get("/v1/banks/t").json()["content_count"] == 0


def test_concurrent_deletes_never_500(small: httpx.Client) -> None:
    small.post("/v1/banks", json={"name": "race"})
    ids = [
        small.post("/v1/banks/race/content", json={"signals": {"pdq": f"{i:064x}"}}).json()[
            "content_id"
        ]
        for i in range(1, 6)
    ]
    codes: list[int] = []
    lock = threading.Lock()

    def delete(cid: int) -> None:
        with httpx.Client(base_url=str(small.base_url), headers=small.headers, verify=TLS) as c:
            r = c.delete(f"/v1/banks/race/content/{cid}")
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=delete, args=(cid,)) for cid in ids for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(codes)) <= [204, 404] and codes.count(204) == len(ids), codes
    bank_codes = []

    def delete_bank() -> None:
        with httpx.Client(base_url=str(small.base_url), headers=small.headers, verify=TLS) as c:
            bank_codes.append(c.delete("/v1/banks/race").status_code)

    threads = [threading.Thread(target=delete_bank) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(bank_codes).count(204) == 1 and set(bank_codes) <= {204, 404}, bank_codes


def test_not_found_routes_are_json(small: httpx.Client) -> None:
    r = small.get("/no/such/route")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = small.put("/v1/match")
    assert r.status_code == 405


def test_decompression_bomb_is_refused_unread(small: httpx.Client, tmp_path: Path) -> None:
    bomb = png_bomb(tmp_path / "bomb.png").read_bytes()
    assert len(bomb) < LIMIT  # refused for its pixels, not its size
    r = small.post("/v1/hash", files={"file": ("bomb.png", bomb)})
    assert r.status_code == 413 and r.json()["code"] == "too_many_pixels", r.text
    r = small.post("/h/hash", files={"photo": ("bomb.png", bomb)})
    assert r.status_code == 413 and "pixels" in r.json()["message"]
