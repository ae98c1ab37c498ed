"""Authentication at the edges, over real HTTP: failed authentications are rate-limited per
client address, a request with a body is refused before the body is read, and the fast
path of `GET /v1/match` answers as the route does.

One server per backend for the module; each test connects from a loopback address of its
own (127.0.0.N), so the failures one test makes never count against another's.
"""

from __future__ import annotations

import itertools
import json
import select
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.api.conftest import ALL_SCOPES, Server, make_key, store_env
from tests.conftest import BACKENDS, temporary_database

UNKNOWN = "sgk_000000000000_" + "x" * 43


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("edges")
    with temporary_database(request.param, tmp) as url:
        env = store_env(tmp / "home", url, SAFEGUARD_AUTH_FAILURE_LIMIT="5")
        server = Server(env)
        try:
            yield server, env
        finally:
            server.stop()


_sources = itertools.count(2)


@pytest.fixture
def source() -> str:
    """A loopback address no other test in this process connects from."""
    return f"127.0.0.{next(_sources)}"


def _key(env: dict[str, str], scopes: str, *extra: str) -> str:
    return make_key(env, f"k-{uuid.uuid4().hex[:8]}", scopes, *extra)


def test_unknown_keys_from_one_address_get_429(
    site: tuple[Server, dict[str, str]], source: str
) -> None:
    server, env = site
    admin = _key(env, ALL_SCOPES)
    good = server.client(admin, source)
    assert good.get("/v1/index/status").status_code == 200  # verified: now in the cache
    codes = []
    # the same unknown key three times (then remembered as refused: no query), then others
    tokens = [UNKNOWN] * 3 + [f"sgk_{i:012d}_" + "y" * 43 for i in range(5)]
    for token in tokens:
        r = server.client(token, source).get("/v1/index/status")
        codes.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["code"] == "rate_limited"
            assert "unknown or revoked API keys" in r.json()["message"]
    assert codes[:5] == [401] * 5
    assert codes[5:] == [429] * 3
    assert server.client(UNKNOWN, source).get("/v1/index/status").status_code == 429
    # a key verified a moment ago still works from the same address; no key at all is
    # still told 401 (it costs nothing to refuse)
    assert good.get("/v1/index/status").status_code == 200
    assert server.client("", source).get("/v1/index/status").status_code == 401
    # another address has a budget of its own
    other = f"{source.rsplit('.', 1)[0]}.{int(source.rsplit('.', 1)[1]) + 100}"
    assert server.client(UNKNOWN, other).get("/v1/index/status").status_code == 401


def _send_until_answered(
    port: int, head: bytes, total: int, source: str
) -> tuple[int, bytes, float]:
    """Send `head` from `source`, then a chunked body of `total` bytes while watching for the
    answer. Returns (body bytes sent before the answer came, the answer, seconds to it)."""
    chunk_size = 64 * 1024
    chunk = b"%x\r\n" % chunk_size + b"x" * chunk_size + b"\r\n"
    s = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
    start = time.monotonic()
    try:
        s.sendall(head)
        s.setblocking(False)
        sent, pending, answer = 0, b"", b""
        while time.monotonic() - start < 60:
            want_write = [s] if sent < total else []
            readable, writable, _ = select.select([s], want_write, [], 1)
            if readable:
                try:
                    data = s.recv(65536)
                except ConnectionResetError:
                    data = b""
                answer += data
                head_end = answer.find(b"\r\n\r\n")
                if not data or (head_end > 0 and answer.endswith(b"}")):
                    return sent, answer, time.monotonic() - start
            elif writable:
                pending = pending or chunk
                try:
                    n = s.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    continue
                pending = pending[n:]
                sent += n
        raise AssertionError(f"no answer within 60 s after sending {sent} bytes")
    finally:
        s.close()


@pytest.mark.parametrize("auth", ["bad", "missing"])
def test_chunked_body_without_a_valid_key_is_refused_before_it_is_read(
    site: tuple[Server, dict[str, str]], source: str, auth: str
) -> None:
    server, _ = site
    total = 30 * 1024 * 1024
    header = f"Authorization: Bearer {UNKNOWN}\r\n" if auth == "bad" else ""
    head = (
        "POST /v1/match/files HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"{header}"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    sent, answer, seconds = _send_until_answered(server.port, head, total, source)
    status = int(answer[9:12])
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert status == 401, answer[:300]
    assert body["code"] == "unauthenticated"
    assert b"www-authenticate: Bearer" in answer.lower().replace(b"bearer", b"Bearer")
    # answered at once, not after the 30 MiB: what was sent before the answer is at most
    # what the socket buffers hold
    assert sent < total // 4, sent
    assert seconds < 5, seconds


def test_body_with_a_valid_key_still_passes_the_gate(
    site: tuple[Server, dict[str, str]], source: str
) -> None:
    server, env = site
    key = _key(env, "match")
    r = server.client(key, source).post("/v1/match", json={"queries": [{"pdq": "f" * 64}]})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["matched"] is False
    r = server.client(UNKNOWN, source).post("/v1/match", json={"queries": [{"pdq": "f" * 64}]})
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"


def test_match_by_hash_answers_alike_on_the_fast_path(
    site: tuple[Server, dict[str, str]], source: str
) -> None:
    server, env = site
    admin = _key(env, ALL_SCOPES)
    limited = _key(env, "match", "--rate-limit", "3")
    curator = _key(env, "curate")
    c = server.client(admin, source)
    assert c.post("/v1/banks", json={"name": "FAST"}).status_code == 201
    pdq = "a" * 64
    added = c.post("/v1/banks/FAST/content", json={"signals": {"pdq": pdq}, "external_id": "e-1"})
    assert added.status_code in (200, 201), added.text
    # the first call verifies the key (the route); later ones find it cached (fast path)
    answers = [c.get("/v1/match", params={"pdq": pdq}) for _ in range(3)]
    for r in answers:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.content == answers[0].content
    found = answers[0].json()
    assert found["matched"] is True
    assert found["matches"][0]["external_id"] == "e-1"
    assert found["matches"][0]["bank"] == "FAST"
    assert c.get("/v1/match", params={"pdq": pdq, "banks": "OTHER"}).json()["matched"] is False
    # errors are the route's: bad input, repeated parameters, wrong scope, rate limit
    bad = c.get("/v1/match", params={"pdq": "zz"})
    assert bad.status_code == 400 and bad.json()["code"]
    assert c.get("/v1/match").status_code == 400
    assert c.get(f"/v1/match?pdq={pdq}&pdq={pdq}").status_code == 200
    wrong = server.client(curator, source)
    assert wrong.get("/v1/match", params={"pdq": pdq}).status_code == 403
    assert wrong.get("/v1/match", params={"pdq": pdq}).status_code == 403  # now cached
    lc = server.client(limited, source)
    codes = [lc.get("/v1/match", params={"pdq": pdq}).status_code for _ in range(6)]
    assert codes[:3] == [200] * 3 and codes[3:] == [429] * 3
    # and metrics count the fast path under the route's template
    metrics = c.get("/metrics").text
    assert 'route="/v1/match"' in metrics
