"""`safeguard demo`, the README's first command, as a real process: it banks photos, matches
their JPEG, half-size, mirrored and cropped copies and never-banked photos, and says so."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import run_safeguard


def _table(stdout: str) -> str:
    return " ".join(stdout.split())


def test_demo_on_its_own_photos_leaves_nothing_behind(tmp_path: Path) -> None:
    """The default run, exactly as the README gives it: generated photos, a temporary store."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"SAFEGUARD_HOME": str(tmp_path / "home"), "TMPDIR": str(scratch)}
    r = run_safeguard(["demo", "--count", "16"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = _table(r.stdout)
    for label in (
        "JPEG quality 50",
        "half size",
        "mirrored",
        "cropped 5% each side",
        "mirrored and cropped 8%",
    ):
        assert f"{label} │ 16 │ 16" in out, out
    assert "never banked │ 0 │ 16" in out
    assert "every edited copy matched its original" in out
    assert list(scratch.iterdir()) == []  # the temporary store and copies are gone


def test_demo_on_a_folder_of_photos_keeps_its_workdir(
    tmp_path: Path, train_images: list[Path], val_images: list[Path]
) -> None:
    images = tmp_path / "images"
    for split, photos in (("train2017", train_images[:6]), ("val2017", val_images[:6])):
        (images / split).mkdir(parents=True)
        for p in photos:
            os.link(p, images / split / p.name)
    work = tmp_path / "w"
    r = run_safeguard(["demo", "--images", str(images), "--count", "6", "--workdir", str(work)], {})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "cropped 5% each side │ 6 │ 6" in _table(r.stdout)
    assert (work / "safeguard.db").is_file() and f"--home {work}" in _table(r.stdout)


def test_demo_with_a_missing_folder_names_it(tmp_path: Path) -> None:
    r = run_safeguard(["demo", "--images", str(tmp_path / "none")], {})
    assert r.returncode == 2 and f"--images {tmp_path / 'none'}: no such folder" in r.stderr
