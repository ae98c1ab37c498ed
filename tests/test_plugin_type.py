"""A signal type from another package works end to end with no change to safeguard.

`tests/plugins/` holds a toy package, `safeguard_toy_ahash` (an average hash of photos), that
registers its type through the `safeguard.signal_types` entry point, as a third-party
package would. Putting that folder on PYTHONPATH of real `safeguard` processes is all it
takes: banks keep it with a threshold of its own, adds compute it, hash lists carry it,
lookups find it through the CLI and over HTTP (ours and HMA's), exports and imports keep it.
The test process itself never loads the plug-in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.api.conftest import ALL_SCOPES, Server, make_key, store_env
from tests.conftest import REPO, run_safeguard

PLUGINS = REPO / "tests" / "plugins"


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH", "")) if p)
    return store_env(tmp_path / "home", db_url, PYTHONPATH=path, SAFEGUARD_WORKERS="1")


def ok(env: dict[str, str], *args: object) -> str:
    result = run_safeguard([str(a) for a in args], env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def ahash_of(env: dict[str, str], path: Path) -> str:
    return str(json.loads(ok(env, "hash", path, "--json"))["ahash"])


def edited(src: Path, dst: Path) -> Path:
    """A smaller, recompressed copy: what an average hash is made to survive."""
    with Image.open(src) as im:
        im.convert("RGB").resize((im.width // 2, im.height // 2)).save(dst, quality=70)
    return dst


# the plug-in machinery does not depend on the store (thresholds per type are tested on
# both in tests/banks): SQLite keeps this end-to-end run short
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_plugin_type_is_banked_listed_and_matched(
    env: dict[str, str], train_images: list[Path], val_images: list[Path], tmp_path: Path
) -> None:
    photo, listed, unseen = train_images[0], train_images[1], val_images[0]
    value = ahash_of(env, listed)
    assert len(value) == 16

    # a bank with a threshold for the new type; the type's default and maximum are enforced
    bank = json.loads(ok(env, "bank", "create", "toys", "--threshold", "ahash=8", "--json"))
    assert bank["thresholds"]["ahash"] == 8
    too_high = run_safeguard(["bank", "create", "x", "--threshold", "ahash=33"], env)
    assert too_high.returncode == 2 and "ahash threshold must be between 0 and 32" in (
        too_high.stderr
    )

    # adding a file computes the new type with the others
    ok(env, "bank", "add", "toys", photo)
    counts = json.loads(ok(env, "bank", "show", "toys", "--json"))["signal_counts"]
    assert counts["ahash"] == 1

    # a hash list naming only the new type (by its alias) is imported
    hash_list = tmp_path / "list.csv"
    hash_list.write_text(f"signal_type,signal_value,external_id\naverage_hash,{value},L-1\n")
    ok(env, "bank", "create", "listed")
    ok(env, "bank", "import", "listed", hash_list)

    # the CLI matches an edited copy through the new type, and the listed photo through it
    copy = edited(photo, tmp_path / "copy.jpg")
    result = json.loads(ok(env, "match", copy))
    assert any(
        m["bank"] == "toys" and m["signal_type"] == "ahash" and m["distance"] <= 8
        for m in result["matches"]
    ), result
    found = json.loads(ok(env, "match", listed))["matches"]
    assert [(m["bank"], m["signal_type"], m["external_id"]) for m in found] == [
        ("listed", "ahash", "L-1")
    ]
    assert json.loads(ok(env, "match", unseen))["matches"] == []

    # export and import keep it
    exported = tmp_path / "export.jsonl"
    ok(env, "bank", "export", "listed", "--output", exported)
    assert json.loads(exported.read_text())["signals"] == {"ahash": value}
    ok(env, "bank", "create", "again")
    ok(env, "bank", "import", "again", exported)
    again = json.loads(ok(env, "match", listed))["matches"]
    assert {m["bank"] for m in again} == {"listed", "again"}

    # over HTTP: the query parameter, the upload, and HMA's lookup
    key = make_key(env, "admin", ALL_SCOPES)
    server = Server(env)
    try:
        with server.client(key) as c:
            r = c.get("/v1/match", params={"ahash": value})
            assert r.status_code == 200 and r.json()["matched"], r.text
            assert c.get("/v1/match", params={"ahash": "zz"}).status_code == 400
            spec = c.get("/openapi.json").json()
            params = spec["paths"]["/v1/match"]["get"]["parameters"]
            assert "ahash" in {p["name"] for p in params}
            with copy.open("rb") as fh:
                r = c.post("/v1/hash", files={"file": ("copy.jpg", fh, "image/jpeg")})
            assert r.status_code == 200 and len(r.json()["ahash"]) == 16, r.text
            r = c.get("/m/lookup", params={"signal_type": "ahash", "signal": value})
            assert r.status_code == 200, r.text
            assert {"listed", "again"} <= set(r.json()), r.text
    finally:
        server.stop()


# the plug-in machinery does not depend on the store (thresholds per type are tested on
# both in tests/banks): SQLite keeps this end-to-end run short
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_broken_plugin_is_named_not_a_traceback(tmp_path: Path, db_url: str) -> None:
    broken = tmp_path / "plugins"
    info = broken / "broken_type-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-type\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[safeguard.signal_types]\nbroken = no_such_module:Signal\n"
    )
    env = store_env(tmp_path / "home", db_url, PYTHONPATH=str(broken))
    some_file = tmp_path / "file.bin"
    some_file.write_bytes(b"not an image")
    result = run_safeguard(["hash", str(some_file)], env)
    assert result.returncode == 2, result.stderr
    assert "signal type plug-in 'broken'" in result.stderr
    assert "Traceback" not in result.stderr
