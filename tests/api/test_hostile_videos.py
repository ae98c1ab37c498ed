"""Hostile videos through the CLI and a real server process: a file that only starts like a
video, a download that broke off, a video over the configured playing time
(SAFEGUARD_MAX_VIDEO_SECONDS), frames over the configured size (SAFEGUARD_MAX_VIDEO_PIXELS),
and a video that is longer than it says. Each gets a clear answer naming the problem (the
file's digests where they could be taken), within bounded time, and none is banked; a
video within the limits is hashed alongside. Decoding does not touch the store: SQLite only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.api.conftest import Server, make_key, store_env
from tests.conftest import run_safeguard
from tests.videogen import frames, write_video

LIMITS = {"SAFEGUARD_MAX_VIDEO_SECONDS": "5", "SAFEGUARD_MAX_VIDEO_PIXELS": "100000"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile-videos")
    long = write_video(d / "long.mp4", frames(41, 9, 10, (320, 240)), 10)
    cut = d / "cut.mp4"
    cut.write_bytes(long.read_bytes()[: long.stat().st_size // 3])
    fake = d / "fake.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 64)
    return {
        "ok": write_video(d / "ok.mp4", frames(42, 3, 10, (320, 240)), 10),
        "long": long,
        "large": write_video(d / "large.mp4", frames(43, 3, 10, (480, 360)), 10),
        "cut": cut,
        "fake": fake,
    }


#: what each file is refused for (error codes; a cut MP4 has lost its index at the end)
REFUSED = {
    "long": {"too_long"},
    "large": {"frames_too_large"},
    "cut": {"unsupported_format", "corrupt_video"},
    "fake": {"unsupported_format", "corrupt_video"},
}
SAYS = {"long": "over the limit of 5 s", "large": "over the limit of 100,000 pixels"}


def test_the_cli_names_each_problem_and_banks_none(tmp_path: Path, files: dict[str, Path]) -> None:
    env = {"SAFEGUARD_HOME": str(tmp_path / "home"), **LIMITS}
    started = time.monotonic()
    hashed = run_safeguard(["hash", *map(str, files.values())], env)
    assert time.monotonic() - started < 60
    assert "Traceback" not in hashed.stderr and hashed.returncode == 1
    records = {Path(r["path"]).stem: r for r in map(json.loads, hashed.stdout.splitlines())}
    assert records["ok"].get("error") is None and records["ok"]["vpdq"]
    for name, codes in REFUSED.items():
        r = records[name]
        assert r["error_code"] in codes, (name, r)
        assert r.get("vpdq") is None and len(r["md5"]) == 32, name
        if name in SAYS:
            assert SAYS[name] in r["error"], (name, r["error"])
    assert run_safeguard(["bank", "create", "videos"], env).returncode == 0
    for name in REFUSED:
        added = run_safeguard(["bank", "add", "videos", str(files[name])], env)
        assert added.returncode != 0 and "Traceback" not in added.stderr, name
    shown = run_safeguard(["bank", "show", "videos", "--json"], env)
    assert json.loads(shown.stdout)["content_count"] == 0


def test_the_server_names_each_problem_and_banks_none(
    tmp_path: Path, start_server: Callable[..., Server], files: dict[str, Path]
) -> None:
    env = store_env(tmp_path / "home", f"sqlite:///{tmp_path / 'sg.db'}", **LIMITS)
    key = make_key(env, "admin", "hash,match,curate")
    server = start_server(env)
    with server.client(key) as c:
        c.timeout = 60
        assert c.post("/v1/banks", json={"name": "videos"}).status_code == 201
        ok = c.post("/v1/hash", files={"file": ("ok.mp4", files["ok"].read_bytes())})
        assert ok.status_code == 200 and ok.json()["vpdq"], ok.text
        for name, codes in REFUSED.items():
            data = files[name].read_bytes()
            started = time.monotonic()
            r = c.post("/v1/hash", files={"file": (f"{name}.mp4", data, "video/mp4")})
            assert time.monotonic() - started < 30, name
            body = r.json()
            # over a limit: 413 naming it, as an image over its limits; else the hash
            # result, which names the problem beside the digests
            assert r.status_code == (413 if name in SAYS else 200), (name, r.text)
            assert (body.get("code") or body.get("error_code")) in codes, (name, body)
            if name in SAYS:
                assert SAYS[name] in r.text, (name, r.text)
            added = c.post("/v1/banks/videos/files", files={"file": (f"{name}.mp4", data)})
            assert added.status_code in (400, 413, 415, 422), (name, added.text)
            hma = c.post("/h/hash", files={"video": (f"{name}.mp4", data, "video/mp4")})
            if name in SAYS:
                assert hma.status_code == 413 and SAYS[name] in hma.json()["message"], hma.text
            else:
                assert hma.status_code == 400, hma.text
                assert "cannot hash the video" in hma.json()["message"]
        assert c.get("/v1/banks/videos").json()["content_count"] == 0
        assert c.get("/livez").status_code == 200
