"""Bad files through the real `safeguard` process: one error record each, the rest processed,
exit code 1, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_safeguard, safeguard_exe
from tests.imagegen import flat_jpeg, flat_png, png_bomb, tiny_images


def _without_root_powers() -> list[str]:
    """Root reads any file: drop the capabilities that let it, so mode 000 really is unreadable."""
    if os.geteuid() != 0:
        return []
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


@pytest.fixture(scope="session")
def bomb_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return png_bomb(tmp_path_factory.mktemp("bomb") / "bomb.png").read_bytes()


@pytest.fixture
def bad_dir(tmp_path: Path, train_images: list[Path], bomb_bytes: bytes) -> Iterator[Path]:
    d = tmp_path / "uploads"
    d.mkdir()
    shutil.copy(train_images[0], d / "good.jpg")
    (d / "nested").mkdir()
    shutil.copy(train_images[1], d / "nested" / "good2.jpg")
    (d / "truncated.jpg").write_bytes(train_images[2].read_bytes()[:5000])
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("this is not an image\n")
    (d / "bomb.png").write_bytes(bomb_bytes)
    secret = d / "unreadable.jpg"
    shutil.copy(train_images[3], secret)
    secret.chmod(0)
    os.symlink(d / "missing-target.jpg", d / "dangling.jpg")
    os.mkfifo(d / "pipe.jpg")
    (d / "locked").mkdir()
    shutil.copy(train_images[4], d / "locked" / "hidden.jpg")
    (d / "locked").chmod(0)
    yield d
    (d / "locked").chmod(0o755)


EXPECTED_CODES = {
    "truncated.jpg": "corrupt_image",
    "empty.jpg": "empty_file",
    "text.jpg": "not_an_image",
    "bomb.png": "too_many_pixels",
    "unreadable.jpg": "unreadable",
    "dangling.jpg": "unreadable",
    "pipe.jpg": "not_a_file",
    "locked": "unreadable",  # a directory that cannot be listed
}


@pytest.mark.parametrize("command", ["hash", "match"])
def test_each_bad_file_gets_its_own_error(
    command: str, bad_dir: Path, home: Path, db_url: str
) -> None:
    env = {"SAFEGUARD_HOME": str(home), "SAFEGUARD_DATABASE_URL": db_url}
    proc = run_safeguard([command, str(bad_dir), "--json"], env, prefix=_without_root_powers())
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert set(rows) == {"good.jpg", "good2.jpg", *EXPECTED_CODES}
    for name, code in EXPECTED_CODES.items():
        assert rows[name]["error_code"] == code, rows[name]
        message = rows[name]["error"]
        assert message and "\n" not in message
        # each error also reaches the terminal as one line naming the file
        assert sum(name in line for line in proc.stderr.splitlines()) >= 1
    for name in ("good.jpg", "good2.jpg"):
        assert "error" not in rows[name]
        if command == "hash":
            assert len(rows[name]["pdq"]) == 64 and rows[name]["pdq_quality"] > 50
    assert "400,000,000 pixels" in rows["bomb.png"]["error"]
    assert "decompression bomb" in rows["bomb.png"]["error"]


def test_pixel_limit_is_configurable(tmp_path: Path, train_images: list[Path]) -> None:
    env = {"SAFEGUARD_HOME": str(tmp_path), "SAFEGUARD_MAX_IMAGE_PIXELS": "100000"}
    proc = run_safeguard(["hash", str(train_images[0])], env)
    assert proc.returncode == 1
    (row,) = map(json.loads, proc.stdout.splitlines())
    assert row["error_code"] == "too_many_pixels" and "640x480 = 307,200 pixels" in row["error"]
    assert row["md5"] and row["pdq"] is None  # digests still computed


def test_ten_thousand_files(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    paths = tiny_images(folder, 10_000, size=16)
    (folder / "zz-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    proc = run_safeguard(
        ["hash", str(folder), "--json"], {"SAFEGUARD_HOME": str(tmp_path / "home")}
    )
    assert proc.returncode == 1
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(rows) == 10_001
    assert [r["path"] for r in rows[:-1]] == [str(p) for p in paths]  # input order kept
    assert sum("error" in r for r in rows) == 1 and rows[-1]["path"].endswith("zz-broken.png")
    assert len({r["sha256"] for r in rows}) == 10_001


#: run a command and add its exit code and peak memory (MB) to stderr. A fresh interpreter
#: forks it: measured from pytest itself, the child's peak would start at pytest's size
_PEAK_OF_CHILD = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(code, peak, file=sys.stderr)
"""


def test_hostile_images_hash_in_bounded_memory(tmp_path: Path) -> None:
    """The 10000x9999 one-colour PNG that took 2.7 GB and 15 s, a 10000x10000 JPEG and a
    16000x16000 JPEG: the first two hashed at reduced size (their stored size reported), the
    last refused from its header; the process's peak memory (getrusage) stays small."""
    (tmp_path / "flat.png").write_bytes(flat_png(10000, 9999))
    (tmp_path / "at.jpg").write_bytes(flat_jpeg(10000, 10000))
    (tmp_path / "over.jpg").write_bytes(flat_jpeg(16000, 16000))
    env = {**os.environ, "SAFEGUARD_HOME": str(tmp_path / "home"), "SAFEGUARD_WORKERS": "1"}
    names = ["flat.png", "at.jpg", "over.jpg"]
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_OF_CHILD, safeguard_exe(), "hash"]
        + [str(tmp_path / n) for n in names]
        + ["--json"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    out, err = proc.stdout, proc.stderr
    returncode, peak_mb = (float(x) for x in err.splitlines()[-1].split())
    seconds = time.monotonic() - started
    assert returncode == 1, err
    assert "Traceback" not in out + err
    rows = {Path(r["path"]).name: r for r in map(json.loads, out.splitlines())}
    for name, size in (("flat.png", (10000, 9999)), ("at.jpg", (10000, 10000))):
        assert len(rows[name]["pdq"]) == 64 and (rows[name]["width"], rows[name]["height"]) == size
    over = rows["over.jpg"]
    assert over["error_code"] == "too_many_pixels" and "256,000,000 pixels" in over["error"]
    assert over["md5"] and over["pdq"] is None
    assert peak_mb < 450, f"peak {peak_mb:.0f} MB"  # measured about 250 MB (2.7 GB before)
    assert seconds < 60
