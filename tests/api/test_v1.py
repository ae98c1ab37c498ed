"""The /v1 API over real HTTP: banks, content, uploads, lists, lookups, audit, metrics."""

from __future__ import annotations

import io
import random
from pathlib import Path

import httpx
from PIL import Image

from safeguard.banks.formats import parse_hash_list
from tests.api.conftest import Deployment

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def flip(value: str, bits: int, seed: int = 0) -> str:
    n = int(value, 16)
    for b in random.Random(seed).sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


def test_bank_lifecycle(deployment: Deployment, bank_name: str) -> None:
    c = deployment.client()
    r = c.post("/v1/banks", json={"name": bank_name, "pdq_threshold": 20})
    assert r.status_code == 201
    assert r.json()["name"] == bank_name and r.json()["pdq_threshold"] == 20
    assert r.json()["created_by"].startswith("key:admin")
    assert c.post("/v1/banks", json={"name": bank_name}).status_code == 409
    assert any(b["name"] == bank_name for b in c.get("/v1/banks").json())
    r = c.patch(f"/v1/banks/{bank_name}", json={"pdq_threshold": 40, "description": "d"})
    assert r.json()["pdq_threshold"] == 40 and r.json()["description"] == "d"
    renamed = bank_name + "_R"
    r = c.patch(f"/v1/banks/{bank_name}", json={"name": renamed, "enabled": False})
    assert r.json()["name"] == renamed and r.json()["enabled"] is False
    assert c.get(f"/v1/banks/{bank_name}").status_code == 404
    assert c.delete(f"/v1/banks/{renamed}").status_code == 204
    assert c.get(f"/v1/banks/{renamed}").status_code == 404
    assert c.delete(f"/v1/banks/{renamed}").status_code == 404


def test_content_and_matching(deployment: Deployment, bank_name: str) -> None:
    c = deployment.client()
    c.post("/v1/banks", json={"name": bank_name})
    r = c.post(
        f"/v1/banks/{bank_name}/content",
        json={"signals": {"pdq": PDQ.upper()}, "source": "test", "external_id": "X1"},
    )
    assert r.status_code == 201
    cid = r.json()["content_id"]
    again = c.post(f"/v1/banks/{bank_name}/content", json={"signals": {"pdq": PDQ}})
    assert again.status_code == 200 and again.json() == {"content_id": cid, "created": False}

    near = flip(PDQ, 12)
    hit = c.get("/v1/match", params={"pdq": near, "banks": bank_name}).json()
    assert hit["matched"] is True
    assert hit["matches"] == [
        {
            "bank": bank_name,
            "content_id": cid,
            "signal_type": "pdq",
            "distance": 12,
            "external_id": "X1",
            "variant": None,
        }
    ]
    far = flip(PDQ, 60)
    batch = c.post(
        "/v1/match", json={"queries": [{"pdq": near}, {"pdq": far}], "banks": [bank_name]}
    )
    assert [r["matched"] for r in batch.json()["results"]] == [True, False]

    info = c.get(f"/v1/banks/{bank_name}/content/{cid}").json()
    assert info["signals"] == {"pdq": PDQ} and info["external_id"] == "X1"
    assert info["added_by"].startswith("key:admin")
    # switched off: no match until switched on again
    r = c.patch(
        f"/v1/banks/{bank_name}/content/{cid}", json={"disabled_until": "2999-01-01T00:00:00Z"}
    )
    assert r.json()["disabled_until"].startswith("2999")
    assert c.get("/v1/match", params={"pdq": PDQ, "banks": bank_name}).json()["matched"] is False
    c.patch(f"/v1/banks/{bank_name}/content/{cid}", json={"disabled_until": None})
    assert c.get("/v1/match", params={"pdq": PDQ, "banks": bank_name}).json()["matched"] is True

    page = c.get(f"/v1/banks/{bank_name}/content").json()
    assert [i["content_id"] for i in page["items"]] == [cid] and page["next_after"] is None
    assert c.delete(f"/v1/banks/{bank_name}/content/{cid}").status_code == 204
    assert c.get(f"/v1/banks/{bank_name}/content/{cid}").status_code == 404
    assert c.get("/v1/match", params={"pdq": PDQ, "banks": bank_name}).json()["matched"] is False


def test_a_bank_of_images_refuses_other_files_unless_asked(
    deployment: Deployment, bank_name: str, train_images: list[Path]
) -> None:
    c = deployment.client()
    c.post("/v1/banks", json={"name": bank_name})
    readme = ("readme.txt", b"a folder's readme, not an image", "text/plain")
    r = c.post(f"/v1/banks/{bank_name}/files", files={"file": readme})
    assert r.status_code == 400 and r.json()["code"] == "not_an_image", r.text
    assert "any_file=true" in r.json()["message"]
    truncated = ("cut.jpg", train_images[0].read_bytes()[:3000], "image/jpeg")
    r = c.post(f"/v1/banks/{bank_name}/files", files={"file": truncated})
    assert r.status_code == 400 and r.json()["code"] == "corrupt_image", r.text
    assert c.get(f"/v1/banks/{bank_name}").json()["content_count"] == 0
    r = c.post(f"/v1/banks/{bank_name}/files", files={"file": readme}, data={"any_file": "true"})
    assert r.status_code == 201, r.text
    assert set(r.json()["file"]) >= {"md5", "sha256"} and not r.json()["file"].get("pdq")


def test_upload_hash_add_and_match_files(
    deployment: Deployment, bank_name: str, train_images: list[Path], val_images: list[Path]
) -> None:
    c = deployment.client()
    c.post("/v1/banks", json={"name": bank_name})
    listed = train_images[:3]
    for p in listed:
        r = c.post(
            f"/v1/banks/{bank_name}/files",
            files={"file": (p.name, p.read_bytes(), "image/jpeg")},
            data={"source": "upload-test", "external_id": p.stem},
        )
        assert r.status_code == 201, r.text
        assert r.json()["file"]["pdq"] and r.json()["file"]["sha256"]
    exported = c.get(f"/v1/banks/{bank_name}/export", params={"format": "csv"})
    assert exported.headers["x-local-features-not-exported"] == "3"  # a list carries hashes
    h = c.post("/v1/hash", files={"file": ("a.jpg", listed[0].read_bytes())}).json()
    assert len(h["pdq"]) == 64 and h["width"] > 0
    files = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in [*listed, val_images[0]]]
    files.append(("files", ("notes.txt", b"not an image at all", "text/plain")))
    results = c.post("/v1/match/files", files=files).json()["results"]
    assert len(results) == 5
    for p, r in zip(listed, results[:3], strict=True):
        ours = [m for m in r["result"]["matches"] if m["bank"] == bank_name]
        assert {m["external_id"] for m in ours} == {p.stem}
        assert {m["signal_type"] for m in ours} == {"pdq", "md5", "sha256", "local"}
    assert not [m for m in results[3]["result"]["matches"] if m["bank"] == bank_name]
    assert results[4]["file"]["md5"] and results[4]["file"]["error_code"]
    # a copy cropped by 8% on each side matches by local features alone
    buf = io.BytesIO()
    with Image.open(listed[0]) as im:
        w, h = im.size
        im.convert("RGB").crop((w // 12, h // 12, w - w // 12, h - h // 12)).save(buf, "JPEG")
    files = [("files", ("crop.jpg", buf.getvalue(), "image/jpeg"))]
    [r] = c.post("/v1/match/files", files=files).json()["results"]
    ours = [m for m in r["result"]["matches"] if m["bank"] == bank_name]
    assert [(m["signal_type"], m["external_id"]) for m in ours] == [("local", listed[0].stem)]


def test_import_export_round_trip(deployment: Deployment, bank_name: str) -> None:
    c = deployment.client()
    c.post("/v1/banks", json={"name": bank_name})
    rng = random.Random(7)
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(50)]
    body = "\n".join(hashes) + "\n"
    r = c.post(
        f"/v1/banks/{bank_name}/import",
        params={"format": "txt", "signal_type": "pdq"},
        content=body,
        headers={"content-type": "text/plain"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 50
    again = c.post(
        f"/v1/banks/{bank_name}/import",
        params={"format": "txt", "signal_type": "pdq"},
        content=body,
        headers={"content-type": "text/plain"},
    ).json()
    assert again["added"] == 0 and again["already_present"] == 50
    # all or nothing: one bad line, nothing added
    bad = c.post(
        f"/v1/banks/{bank_name}/import",
        params={"format": "txt", "signal_type": "pdq"},
        content=f"{rng.getrandbits(256):064x}\nnot-a-hash\n",
        headers={"content-type": "text/plain"},
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_hash_list"
    assert "line 2" in bad.json()["message"] and "nothing was imported" in bad.json()["message"]
    assert c.get(f"/v1/banks/{bank_name}").json()["content_count"] == 50
    for empty in ("", "# a comment only\n", "\n\n"):
        r = c.post(
            f"/v1/banks/{bank_name}/import",
            params={"format": "txt", "signal_type": "pdq"},
            content=empty,
            headers={"content-type": "text/plain"},
        )
        assert r.status_code == 400 and r.json()["code"] == "empty_hash_list", r.text
    exported = c.get(f"/v1/banks/{bank_name}/export", params={"format": "txt"})
    assert exported.status_code == 200
    listed = parse_hash_list(exported.text, "export.txt")
    assert sorted(r.signals["pdq"] for r in listed) == sorted(hashes)
    assert {r.source for r in listed} == {"http-import"}
    for h in hashes[:5]:
        assert c.get("/v1/match", params={"pdq": h, "banks": bank_name}).json()["matched"]


def test_index_status_audit_and_metrics(deployment: Deployment, bank_name: str) -> None:
    c = deployment.client()
    c.post("/v1/banks", json={"name": bank_name})
    status = c.get("/v1/index/status").json()
    assert status["ready"] is True and status["rebuilds"] == 1
    changes = c.get("/v1/changes", params={"limit": 1000}).json()["items"]
    created = [
        ch for ch in changes if ch["action"] == "bank.create" and ch["bank_name"] == bank_name
    ]
    assert created and created[0]["actor"].startswith("key:admin")
    assert any(ch["action"] == "key.create" for ch in changes)
    text = c.get("/metrics").text
    assert "safeguard_http_requests_total" in text
    assert 'route="/v1/changes"' in text


def test_health(deployment: Deployment) -> None:
    r = httpx.get(deployment.server.url + "/status")
    assert r.status_code == 200 and r.text == "I-AM-ALIVE"
    assert httpx.get(deployment.server.url + "/readyz").text == "READY"
    assert httpx.get(deployment.server.url + "/livez").text == "OK"


def test_bank_update_is_all_or_nothing(deployment: Deployment, bank_name: str) -> None:
    c = deployment.client()
    other = bank_name + "_OTHER"
    c.post("/v1/banks", json={"name": bank_name})
    c.post("/v1/banks", json={"name": other})
    r = c.patch(f"/v1/banks/{bank_name}", json={"enabled": False, "name": other})
    assert r.status_code == 409
    after = c.get(f"/v1/banks/{bank_name}").json()
    assert after["enabled"] is True and after["name"] == bank_name


def test_roles_deploy_apart(deployment: Deployment, start_server) -> None:  # type: ignore[no-untyped-def]
    hasher = start_server({**deployment.env, "SAFEGUARD_API_ROLES": "hash"})
    c = hasher.client(deployment.admin_key)
    assert httpx.get(hasher.url + "/status").text == "I-AM-ALIVE"  # no index to load
    assert (
        c.post(
            "/h/hash", params={"types": "video_md5"}, files={"video": ("v.bin", b"x")}
        ).status_code
        == 200
    )
    assert c.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq"}).status_code == 404
    assert c.get("/v1/banks").status_code == 404
    paths = c.get("/openapi.json").json()["paths"]
    assert "/h/hash" in paths and not any(p.startswith(("/m/", "/c/", "/v1/banks")) for p in paths)
