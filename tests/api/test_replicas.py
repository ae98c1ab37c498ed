"""Several server processes on one database stay in step: a change made through one is seen
by lookups on another within 2 seconds, applied incrementally (no index reloads)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.api.conftest import Server, make_key, store_env
from tests.conftest import temporary_database

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def wait_for(check: Callable[[], bool], seconds: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not seen within {seconds} s")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_change_through_one_replica_is_seen_by_another(
    backend: str, tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    with temporary_database(backend, tmp_path) as url:
        env = store_env(tmp_path / "home", url, SAFEGUARD_SYNC_INTERVAL="0.25")
        key = make_key(env, "admin", "hash,match,curate,admin")
        one, two = start_server(env), start_server(env)
        a, b = one.client(key), two.client(key)

        def matches_on_b() -> bool:
            r = b.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq"})
            return bool(r.json()["matches"])

        assert a.post("/c/banks", json={"name": "SHARED"}).status_code == 201
        assert not matches_on_b()
        cid = a.post("/c/bank/SHARED/signal", json={"pdq": PDQ}).json()["id"]
        added_after = wait_for(matches_on_b, 2.0)
        assert a.delete(f"/c/bank/SHARED/content/{cid}").json() == {"deleted": 1}
        removed_after = wait_for(lambda: not matches_on_b(), 2.0)
        # a bank switched off through B stops matching on A, and back on again
        cid = b.post("/c/bank/SHARED/signal", json={"pdq": PDQ}).json()["id"]
        wait_for(
            lambda: bool(a.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq"}).json()),
            2.0,
        )
        b.put("/c/bank/SHARED", json={"enabled": False})
        wait_for(
            lambda: not a.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq"}).json(), 2.0
        )
        b.put("/c/bank/SHARED", json={"enabled": True})
        wait_for(
            lambda: bool(a.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq"}).json()),
            2.0,
        )
        # both applied the changes one by one: neither reloaded its index
        for client in (a, b):
            status = client.get("/v1/index/status").json()
            assert status["rebuilds"] == 1 and status["changes_applied"] > 0
        print(f"added seen after {added_after:.2f} s, removal after {removed_after:.2f} s")


def test_local_features_follow_across_replicas(
    tmp_path: Path, start_server: Callable[..., Server], train_images: list[Path]
) -> None:
    """An image added through one replica: a cropped copy matches on the other by local
    features within 2 s; removed, it stops."""
    with temporary_database("postgresql", tmp_path) as url:
        env = store_env(tmp_path / "home", url, SAFEGUARD_SYNC_INTERVAL="0.25")
        key = make_key(env, "admin", "hash,match,curate,admin")
        one, two = start_server(env), start_server(env)
        a, b = one.client(key), two.client(key)
        listed = train_images[7]
        buf = io.BytesIO()
        with Image.open(listed) as im:
            w, h = im.size
            im.convert("RGB").crop((w // 10, h // 10, w, h)).save(buf, "JPEG")
        crop = [("files", ("crop.jpg", buf.getvalue(), "image/jpeg"))]

        def local_on_b() -> bool:
            [r] = b.post("/v1/match/files", files=crop).json()["results"]
            return any(m["signal_type"] == "local" for m in r["result"]["matches"])

        a.post("/v1/banks", json={"name": "imgs"})
        assert not local_on_b()
        r = a.post("/v1/banks/imgs/files", files={"file": (listed.name, listed.read_bytes())})
        cid = r.json()["content_id"]
        wait_for(local_on_b, 2.0)
        assert a.delete(f"/v1/banks/imgs/content/{cid}").status_code == 204
        wait_for(lambda: not local_on_b(), 2.0)
        assert b.get("/v1/index/status").json()["rebuilds"] == 1


def test_two_workers_share_metrics_and_follow(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    with temporary_database("postgresql", tmp_path) as url:
        env = store_env(tmp_path / "home", url)
        key = make_key(env, "admin", "hash,match,curate,admin")
        server = start_server(env, workers=2)
        c = server.client(key)
        c.post("/v1/banks", json={"name": "w"})
        c.post("/v1/banks/w/content", json={"signals": {"pdq": PDQ}})

        # each request may land on either worker: all of them must see the item within 2 s
        def all_match() -> bool:
            return all(
                httpx.get(
                    server.url + "/v1/match",
                    params={"pdq": PDQ},
                    headers={"Authorization": f"Bearer {key}"},
                ).json()["matched"]
                for _ in range(10)
            )

        wait_for(all_match, 2.0)
        assert "safeguard_http_requests_total" in c.get("/metrics").text
