"""HMA 1.1.7's own route set, as an unchanged HMA client sends it: its core probes, the
configuration routes, exchanges (none installed), content shapes, and
SAFEGUARD_API_OPEN_HMA, which lets such a client in without a key on a private address."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.api.conftest import Deployment, Server, store_env
from tests.conftest import run_safeguard

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def name() -> str:
    return f"HMA_{uuid.uuid4().hex[:8].upper()}"


def test_core_probes(deployment: Deployment) -> None:
    url = deployment.server.url
    live = httpx.get(url + "/status/live")
    assert live.status_code == 200 and live.text == "I-AM-ALIVE"
    home = httpx.get(url + "/", follow_redirects=False)
    assert home.status_code == 302 and home.headers["location"] == "/status"
    routes = httpx.get(url + "/site-map").json()
    assert routes == sorted(routes)
    assert {"/status", "/status/live", "/m/lookup", "/c/banks", "/h/hash"} <= set(routes)


def test_index_status_has_hma_keys_only(deployment: Deployment) -> None:
    c = deployment.client()
    status = c.get("/m/index/status").json()
    assert set(status) == {"pdq", "video_md5", "vpdq"}
    assert all(set(v) == {"present", "built_to", "size"} for v in status.values())
    index = c.get("/c/signal_type/index").json()
    assert set(index) == {"pdq", "video_md5", "vpdq"}
    keys = {"db_size", "index_size", "index_out_of_date", "newest_db_item", "index_built_to"}
    assert all(set(v) == keys for v in index.values())
    assert index["pdq"]["index_out_of_date"] is False
    assert c.get("/c/signal_type/index", params={"signal_type": "x"}).status_code == 400


def test_configuration_routes(deployment: Deployment) -> None:
    c = deployment.client()
    assert c.get("/c/signal_type").json() == [
        {"enabled_ratio": 1.0, "name": "pdq"},
        {"enabled_ratio": 1.0, "name": "video_md5"},
        {"enabled_ratio": 1.0, "name": "vpdq"},
    ]
    assert c.get("/c/content_type").json() == [
        {"enabled": True, "name": "photo"},
        {"enabled": True, "name": "video"},
    ]
    r = c.put("/c/signal_type/pdq", json={"enabled_ratio": 0.5})
    assert r.status_code == 400 and "message" in r.json()


def test_exchanges_as_an_hma_with_none_installed(deployment: Deployment) -> None:
    c = deployment.client()
    assert c.get("/c/exchanges").json() == []
    assert c.get("/c/exchanges/apis").json() == []
    for body, text in (
        ({}, "bank is required"),
        ({"bank": "bad name"}, "must match"),
        ({"bank": "X", "api_json": []}, "must be object"),
        ({"bank": "X"}, "`api_type` is required"),
        ({"bank": "X", "api": "fb_threatexchange"}, "No such exchange type"),
    ):
        r = c.post("/c/exchanges", json=body)
        assert r.status_code == 400 and text in r.json()["message"], (body, r.text)
    assert c.get("/c/exchanges/api/fb_threatexchange").status_code == 400
    assert c.get("/c/exchanges/api/fb_threatexchange/schema").status_code == 404
    for method in ("GET", "PUT"):
        r = c.request(method, "/c/exchange/NOPE", json={})
        assert r.status_code == 404 and r.json()["message"] == "Exchange 'NOPE' not found"
    assert c.get("/c/exchange/NOPE/status").status_code == 404
    assert c.delete("/c/exchange/NOPE").json() == {"message": "Exchange deleted"}


def test_content_shapes_and_notes(deployment: Deployment) -> None:
    c = deployment.client()
    n = name()
    c.post("/c/banks", json={"name": n})
    added = c.post(f"/c/bank/{n}/signal", json={"pdq": PDQ, "note": "from a hotline"})
    assert added.status_code == 200 and added.json()["signals"] == {"pdq": PDQ}
    cid = added.json()["id"]
    got = c.get(f"/c/bank/{n}/content/{cid}").json()
    assert got == {
        "bank": {"matching_enabled_ratio": 1.0, "name": n},
        "disable_until_ts": 1,
        "id": cid,
        "note": "from a hotline",
        "original_media_uri": None,
    }
    put = c.put(f"/c/bank/{n}/content/{cid}", json={"disable_until_ts": 0}).json()
    assert put == {
        "bank": {"matching_enabled_ratio": 1.0, "name": n},
        "collab_metadata": {},
        "disable_until_ts": 0,
        "id": cid,
        "note": "from a hotline",
        "original_media_uri": None,
        "user_metadata": None,
    }
    for note in (5, "x" * 256):
        r = c.post(f"/c/bank/{n}/signal", json={"pdq": "1" * 64, "note": note})
        assert r.status_code == 400


def test_upload_with_metadata_form_field(deployment: Deployment, train_images: list[Path]) -> None:
    c = deployment.client()
    n = name()
    c.post("/c/banks", json={"name": n})
    img = train_images[3].read_bytes()
    r = c.post(
        f"/c/bank/{n}/content",
        files={"photo": ("x.jpg", img, "image/jpeg")},
        data={"metadata": '{"content_id": "H-7"}', "note": "n"},
    )
    assert r.status_code == 200, r.text
    got = c.get(f"/c/bank/{n}/content/{r.json()['id']}").json()
    assert got["metadata"] == {"content_id": "H-7"} and got["note"] == "n"
    plain = c.get(f"/c/bank/{n}/content/{r.json()['id']}", params={"include_metadata": "false"})
    assert "metadata" not in plain.json()
    bad = c.post(
        f"/c/bank/{n}/content",
        files={"photo": ("x.jpg", img, "image/jpeg")},
        data={"metadata": "{not json"},
    )
    assert bad.status_code == 400


def test_open_hma_serves_an_unchanged_client_without_a_key(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    env = store_env(
        tmp_path / "home", f"sqlite:///{tmp_path / 'sg.db'}", SAFEGUARD_API_OPEN_HMA="1"
    )
    server = start_server(env)
    c = server.client()  # no Authorization header, as HMA clients send
    n = name()
    assert c.post("/c/banks", json={"name": n}).status_code == 201
    cid = c.post(f"/c/bank/{n}/signal", json={"pdq": PDQ}).json()["id"]
    lookup = c.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq"})
    assert lookup.json() == {n: [{"bank_content_id": cid, "distance": "0"}]}
    assert c.get("/m/index/status").status_code == 200
    # safeguard's own routes still need a key, and a wrong key is still refused
    assert c.get("/v1/banks").status_code == 401
    assert c.get("/c/banks", headers={"Authorization": "Bearer sgk_x_y"}).status_code == 401
    # changes are attributed to the caller's address
    changes = run_safeguard(["bank", "content", n, "--json"], env)
    assert changes.returncode == 0 and "open-hma:127.0.0.1" in changes.stdout


def test_open_hma_refuses_a_public_or_wildcard_listen_address(tmp_path: Path) -> None:
    env = store_env(
        tmp_path / "home", f"sqlite:///{tmp_path / 'sg.db'}", SAFEGUARD_API_OPEN_HMA="1"
    )
    for host in ("0.0.0.0", "::", "8.8.8.8"):
        r = run_safeguard(["serve", "--host", host, "--port", "1"], env)
        assert r.returncode == 2 and "SAFEGUARD_API_OPEN_HMA" in r.stderr, (host, r.stderr)
