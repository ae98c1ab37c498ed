"""`safeguard demo`, the README's first command, as a real process: it banks photos, matches
their JPEG, half-size, mirrored and cropped copies and never-banked photos, and says so."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import COCO, run_safeguard


def test_demo_matches_every_edited_copy_and_no_unseen_photo(tmp_path: Path) -> None:
    env = {"SAFEGUARD_HOME": str(tmp_path / "home"), "SAFEGUARD_WORKERS": "2"}
    args = ["demo", "--images", str(COCO), "--count", "12", "--workdir", str(tmp_path / "w")]
    r = run_safeguard(args, env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = " ".join(r.stdout.split())
    for label in ("JPEG quality 50", "half size", "mirrored", "cropped 5% each side"):
        assert f"{label} │ 12 │ 12" in out, out
    assert "never banked │ 0 │ 12" in out
    assert "every edited copy matched its original" in out


def test_demo_without_images_says_what_to_pass(tmp_path: Path) -> None:
    r = run_safeguard(["demo", "--images", str(tmp_path / "none")], {})
    assert r.returncode == 2 and "pass --images DIR" in r.stderr
