"""A black-box suite for the HMA 2.x routes, modelled on HMA's own API tests
(OpenMediaMatch tests/test_api*.py, test_match_api.py): same requests, same shapes."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Deployment

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "cab08b36195edb1a1231d2d09fa450e0"


def name() -> str:
    return f"HMA_{uuid.uuid4().hex[:8].upper()}"


@pytest.fixture
def c(deployment: Deployment) -> httpx.Client:
    return deployment.client()


def test_status_text(deployment: Deployment) -> None:
    r = httpx.get(deployment.server.url + "/status")
    assert r.status_code == 200 and r.content == b"I-AM-ALIVE"


def test_bank_create_list_update_delete(c: httpx.Client) -> None:
    assert c.post("/c/banks", json={"name": "01_TEST_BANK"}).status_code == 400
    assert c.post("/c/banks", json={"name": "my_test_bank"}).status_code == 400
    assert c.post("/c/banks", json={}).status_code in (400, 422)
    n = name()
    r = c.post("/c/banks", json={"name": n})
    assert r.status_code == 201
    assert r.json() == {"matching_enabled_ratio": 1.0, "name": n}
    assert r.json() in c.get("/c/banks").json()
    dup = c.post("/c/banks", json={"name": n})
    assert dup.status_code == 403 and "message" in dup.json()
    assert c.get(f"/c/bank/{n}").json() == {"matching_enabled_ratio": 1.0, "name": n}
    assert c.get("/c/bank/NO_SUCH_BANK_X").status_code == 404
    renamed = n + "_RENAMED"
    assert c.put(f"/c/bank/{n}", json={"name": renamed}).json()["name"] == renamed
    assert (
        c.put(f"/c/bank/{renamed}", json={"enabled": False}).json()["matching_enabled_ratio"] == 0
    )
    r = c.put(f"/c/bank/{renamed}", json={"enabled_ratio": 0.5})
    assert r.json() == {"matching_enabled_ratio": 0.5, "name": renamed}
    assert {"matching_enabled_ratio": 0.5, "name": renamed} in c.get("/c/banks").json()
    assert c.put("/c/bank/NO_SUCH_BANK_X", json={"enabled": True}).status_code == 404
    assert c.delete(f"/c/bank/{renamed}").json() == {"message": "Done"}
    assert c.delete(f"/c/bank/{renamed}").json() == {"message": "Done"}
    assert c.get(f"/c/bank/{renamed}").status_code == 404


def test_signal_content_and_lookups(c: httpx.Client) -> None:
    a, b, other = name(), name(), name()
    for n in (a, b, other):
        c.post("/c/banks", json={"name": n})
    r = c.post(f"/c/bank/{a}/signal", json={"pdq": PDQ})
    assert r.status_code == 200
    assert r.json()["signals"] == {"pdq": PDQ}
    id_a = r.json()["id"]
    id_b = c.post(f"/c/bank/{b}/signal", json={"pdq": PDQ}).json()["id"]
    id_md5 = c.post(f"/c/bank/{a}/signal", json={"video_md5": MD5.upper()}).json()
    assert id_md5["signals"] == {"video_md5": MD5}

    raw = c.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": f"{a},{b}"})
    assert sorted(raw.json()["matches"]) == sorted([id_a, id_b])
    one = c.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": a})
    assert one.json() == {"matches": [id_a]}
    none = c.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": "NOPE"})
    assert none.json() == {"matches": []}
    dist = c.get(
        "/m/raw_lookup",
        params={"signal": PDQ, "signal_type": "pdq", "include_distance": "true", "banks": a},
    )
    assert dist.json() == {"matches": [{"bank_content_id": id_a, "distance": "0"}]}

    lk = c.get(
        "/m/lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": f"{a},{b}"}
    ).json()
    assert lk == {
        a: [{"bank_content_id": id_a, "distance": "0"}],
        b: [{"bank_content_id": id_b, "distance": "0"}],
    }
    assert (
        c.get("/m/lookup", params={"signal": "5" * 64, "signal_type": "pdq", "banks": a}).json()
        == {}
    )
    md5 = c.get("/m/lookup", params={"signal": MD5, "signal_type": "video_md5", "banks": a})
    assert md5.json() == {a: [{"bank_content_id": id_md5["id"], "distance": "-"}]}

    # the roll-out ratio: a bank at 0.0 takes part only with bypass_coinflip (POST) or never
    c.put(f"/c/bank/{b}", json={"enabled_ratio": 0.5})
    seeded = [
        set(
            c.get(
                "/m/lookup",
                params={"signal": PDQ, "signal_type": "pdq", "banks": f"{a},{b}", "seed": str(s)},
            ).json()
        )
        for s in range(40)
    ]
    assert all(a in s for s in seeded)
    assert any(b in s for s in seeded) and any(b not in s for s in seeded)
    same = {
        frozenset(
            c.get(
                "/m/lookup",
                params={"signal": PDQ, "signal_type": "pdq", "banks": f"{a},{b}", "seed": "7"},
            ).json()
        )
        for _ in range(3)
    }
    assert len(same) == 1

    # content: get, disable, delete
    got = c.get(f"/c/bank/{a}/content/{id_a}", params={"include_signals": "true"}).json()
    assert got["id"] == id_a and got["bank"]["name"] == a
    assert got["disable_until_ts"] == 1 and got["signals"] == {"pdq": PDQ}
    only_md5 = c.get(f"/c/bank/{a}/content/{id_a}", params={"signal_type": "video_md5"}).json()
    assert only_md5["signals"] == {}
    assert c.get(f"/c/bank/{a}/content/999999999").status_code == 404
    assert c.get(f"/c/bank/NO_SUCH_BANK/content/{id_a}").status_code == 404
    year = int(time.time()) + 365 * 24 * 3600
    put = c.put(f"/c/bank/{a}/content/{id_a}", json={"disable_until_ts": year})
    assert put.status_code == 200 and put.json()["disable_until_ts"] == year
    unchanged = c.put(f"/c/bank/{a}/content/{id_a}", json={})
    assert unchanged.status_code == 200 and unchanged.json()["disable_until_ts"] == year
    assert (
        c.put(f"/c/bank/{a}/content/{id_a}", json={"disable_until_ts": 9999999999}).status_code
        == 400
    )
    assert c.put(f"/c/bank/{a}/content/{id_a}", json={"disable_until_ts": -1}).status_code == 400
    assert (
        a not in c.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": a}).json()
    )
    # raw_lookup ignores the content switch, as in HMA
    assert c.get(
        "/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": a}
    ).json() == {"matches": [id_a]}
    c.put(f"/c/bank/{a}/content/{id_a}", json={"disable_until_ts": 1})
    assert a in c.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": a}).json()
    assert c.delete(f"/c/bank/{a}/content/{id_a}").json() == {"deleted": 1}
    assert c.delete(f"/c/bank/{a}/content/{id_a}").json() == {"deleted": 0}
    assert c.get(
        "/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": a}
    ).json() == {"matches": []}


def test_signal_errors(c: httpx.Client) -> None:
    n = name()
    c.post("/c/banks", json={"name": n})
    assert c.post("/c/bank/NO_SUCH_BANK/signal", json={"pdq": PDQ}).status_code == 404
    r = c.post(f"/c/bank/{n}/signal", json={})
    assert r.status_code == 400 and r.json()["message"] == "No signals given"
    r = c.post(f"/c/bank/{n}/signal", json={"banana": PDQ})
    assert r.status_code == 400 and "No such signal type" in r.json()["message"]
    r = c.post(f"/c/bank/{n}/signal", json={"pdq": "abc"})
    assert r.status_code == 400 and r.json()["message"].startswith("Invalid pdq signal")
    assert c.post(f"/c/bank/{n}/signal", json=["pdq", PDQ]).status_code == 400
    assert c.post(f"/c/bank/{n}/signal", json={"pdq": "0" * 64}).status_code == 200


def test_lookup_errors(c: httpx.Client) -> None:
    assert c.get("/m/raw_lookup", params={"signal_type": "pdq"}).status_code in (400, 422)
    r = c.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "banana"})
    assert r.status_code == 400 and "No such SignalType" in r.json()["message"]
    r = c.get("/m/raw_lookup", params={"signal": "zz", "signal_type": "pdq"})
    assert r.status_code == 400 and r.json()["message"].startswith("invalid signal")
    r = c.get("/m/lookup")
    assert r.status_code == 400 and "required" in r.json()["message"]


def test_compare(c: httpx.Client) -> None:
    a = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318"
    b = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318"
    assert c.post("/m/compare", json={"pdq": [a, b]}).json() == {"pdq": [True, {"distance": 9}]}
    assert c.post("/m/compare", json={}).json() == {}
    for bad, text in (
        (["banana"], "was not a dict"),
        ({"pdq": "banana"}, "was not a list"),
        ({"pdq": []}, "exactly 2"),
        ({"pdq": [a, a, a]}, "exactly 2"),
        ({"banana": [a, b]}, "No such SignalType"),
        ({"pdq": ["banana", "banana"]}, "Invalid pdq hash"),
    ):
        r = c.post("/m/compare", json=bad)
        assert r.status_code == 400 and text in r.json()["message"], (bad, r.text)


def test_media_upload_hash_add_and_lookup(c: httpx.Client, train_images: list[Path]) -> None:
    img = train_images[5].read_bytes()
    h = c.post("/h/hash", files={"photo": ("x.jpg", img, "image/jpeg")})
    assert h.status_code == 200 and list(h.json()) == ["pdq"] and len(h.json()["pdq"]) == 64
    v = c.post(
        "/h/hash",
        params={"types": "video_md5"},
        files={"video": ("x.mp4", b"\x00\x01binary", "video/mp4")},
    )
    assert v.status_code == 200 and list(v.json()) == ["video_md5"]
    assert c.post("/h/hash", files={"file": ("x.jpg", img)}).status_code == 400
    two = c.post("/h/hash", files=[("photo", ("a.jpg", img)), ("photo", ("b.jpg", img))])
    assert two.status_code == 400 and "Only one file" in two.json()["message"]
    assert c.post("/h/hash").status_code == 400
    n = name()
    c.post("/c/banks", json={"name": n})
    added = c.post(f"/c/bank/{n}/content", files={"photo": ("x.jpg", img, "image/jpeg")})
    assert added.status_code == 200
    assert added.json()["signals"] == {"pdq": h.json()["pdq"]}
    found = c.post("/m/lookup", params={"banks": n}, files={"photo": ("y.jpg", img, "image/jpeg")})
    assert found.json() == {"pdq": {n: [{"bank_content_id": added.json()["id"], "distance": "0"}]}}
    assert c.post(f"/c/bank/{n}/content").status_code == 400
    assert (
        c.post("/c/bank/NO_SUCH_BANK/content", files={"photo": ("x.jpg", img)}).status_code == 404
    )
    meta = c.post(f"/c/bank/{n}/content", json={"metadata": {"invalid_metadata": 5}})
    assert meta.status_code == 400


def test_index_status(c: httpx.Client) -> None:
    n = name()
    c.post("/c/banks", json={"name": n})
    c.post(f"/c/bank/{n}/signal", json={"pdq": "1" * 64})
    status = c.get("/m/index/status").json()
    assert {"pdq", "video_md5"} <= set(status)
    assert status["pdq"]["present"] is True and status["pdq"]["size"] >= 1
    assert status["pdq"]["built_to"] > 0
    only = c.get("/m/index/status", params={"signal_type": "pdq"}).json()
    assert list(only) == ["pdq"]
    assert c.get("/m/index/status", params={"signal_type": "banana"}).status_code == 400


def test_url_fetching_is_off_by_default(c: httpx.Client) -> None:
    r = c.get("/h/hash", params={"url": "https://example.com/a.jpg"})
    assert r.status_code == 403 and "turned off" in r.json()["message"]
    r = c.get("/m/lookup", params={"url": "https://example.com/a.jpg"})
    assert r.status_code == 403
