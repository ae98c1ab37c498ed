"""Videos over HTTP: an upload is hashed from the file the server spooled it to (digests and
vPDQ), banked, and its re-encoded and trimmed copies match it; other videos do not, a broken
video is refused from a bank, and the upload limit holds for videos too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from safeguard.signals.video import parse
from tests.api.conftest import Deployment, Server, make_key, store_env
from tests.conftest import temporary_database
from tests.videogen import frames, write_video


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("clips")
    shown = frames(21, 9, 10, (320, 240))
    made = {
        "listed": write_video(d / "listed.mp4", shown, 10),
        "reencoded": write_video(d / "low.mp4", shown, 10, bitrate=60_000),
        "trimmed": write_video(d / "trimmed.webm", shown[25:80], 10, codec="libvpx-vp9"),
        "other": write_video(d / "other.mp4", frames(22, 9, 10, (320, 240)), 10),
    }
    return {name: path.read_bytes() for name, path in made.items()}


def test_a_video_uploaded_is_hashed_banked_and_matched(
    deployment: Deployment, bank_name: str, clips: dict[str, bytes]
) -> None:
    c = deployment.client()
    h = c.post("/v1/hash", files={"file": ("clip.mp4", clips["listed"], "video/mp4")})
    assert h.status_code == 200, h.text
    assert len(parse(h.json()["vpdq"])) == 9 and len(h.json()["md5"]) == 32
    c.post("/v1/banks", json={"name": bank_name})
    added = c.post(
        f"/v1/banks/{bank_name}/files", files={"file": ("clip.mp4", clips["listed"], "video/mp4")}
    )
    assert added.status_code == 201, added.text
    files = [("files", (f"{n}.bin", clips[n], "application/octet-stream")) for n in clips]
    results = c.post("/v1/match/files", files=files).json()["results"]
    found = {
        n: [m["signal_type"] for m in r["result"]["matches"] if m["bank"] == bank_name]
        for n, r in zip(clips, results, strict=True)
    }
    assert "vpdq" in found["reencoded"] and "vpdq" in found["trimmed"]
    assert set(found["listed"]) >= {"vpdq", "md5", "sha256"}
    assert found["other"] == []
    broken = clips["listed"][: len(clips["listed"]) // 4]
    refused = c.post(f"/v1/banks/{bank_name}/files", files={"file": ("cut.mp4", broken)})
    assert refused.status_code in (400, 415, 422), refused.text


def test_the_upload_limit_holds_for_videos(
    tmp_path: Path, start_server: Callable[..., Server], clips: dict[str, bytes]
) -> None:
    with temporary_database("sqlite", tmp_path) as url:
        env = store_env(tmp_path / "home", url, SAFEGUARD_MAX_UPLOAD_BYTES="60000")
        key = make_key(env, "h", "hash")
        c = start_server(env).client(key)
        assert len(clips["listed"]) > 60_000
        r = c.post("/v1/hash", files={"file": ("clip.mp4", clips["listed"], "video/mp4")})
        assert r.status_code == 413, r.text


def test_a_video_uploaded_as_an_event_is_held_when_a_copy_is_banked(
    deployment: Deployment, bank_name: str, clips: dict[str, bytes]
) -> None:
    """The default rules hold an upload that matches a bank: a re-encoded copy of a banked
    video, sent as the file of an event, matches by vPDQ (its digests differ)."""
    c = deployment.client()
    c.post("/v1/banks", json={"name": bank_name})
    added = c.post(f"/v1/banks/{bank_name}/files", files={"file": ("v.mp4", clips["listed"])})
    assert added.status_code == 201, added.text
    platform = deployment.client(deployment.key("events"))
    r = platform.post(
        "/v1/events/upload",
        files={"file": ("upload.mp4", clips["reencoded"], "video/mp4")},
        data={"account_id": f"acct-{bank_name}"},
    )
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["verdict"] == "hold" and verdict["case_id"]
    assert {m["signal_type"] for m in verdict["matches"] if m["bank"] == bank_name} == {"vpdq"}
