"""`safeguard eval robustness` through the CLI on a handful of benign photos: every edit
family runs, and the numbers say what each matching option is for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from safeguard.evaluation.edits import CATALOGUE, FAMILIES
from tests.conftest import run_safeguard


@pytest.fixture(scope="module")
def report(train_images: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    tmp = tmp_path_factory.mktemp("robustness")
    folder = tmp / "images"
    folder.mkdir()
    for p in train_images[:8]:
        shutil.copy(p, folder / p.name)
    out = tmp / "report"
    env = {"SAFEGUARD_HOME": str(tmp / "home")}
    result = run_safeguard(
        ["eval", "robustness", str(folder), "--out", str(out), "--json", "--workers", "2"], env
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert json.loads((out / "report.json").read_text()) == data
    md = (out / "report.md").read_text()
    assert "## Recall by family" in md and "| mirror | flip |" in md
    assert (out / "recall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def test_every_edit_family_is_measured(report: dict) -> None:  # type: ignore[type-arg]
    assert report["images"] == 8 and report["banked"] == 4
    assert [e["name"] for e in report["edits"]] == [e.name for e in CATALOGUE]
    for config in ("plain", "dihedral", "trim", "local", "default"):
        assert set(report["family_recall"][config]) == set(FAMILIES)


def test_options_do_what_they_say(report: dict) -> None:  # type: ignore[type-arg]
    r = report["recall"]
    for edit in ("original", "jpeg_q50", "resize_0.5x", "greyscale", "blur_r1"):
        assert r["plain"][edit] == 1.0, edit
    for edit in ("mirror", "flip_vertical", "rotate_90", "rotate_180", "rotate_270"):
        assert r["plain"][edit] == 0.0, edit  # plain PDQ, as HMA matches: blind to these
        assert r["dihedral"][edit] == 1.0 and r["default"][edit] == 1.0, edit
    for edit in ("border_black_10", "letterbox_10", "border_colour_10"):
        assert r["plain"][edit] == 0.0 and r["dihedral"][edit] == 0.0, edit
        assert r["trim"][edit] >= 0.75 and r["default"][edit] >= 0.75, edit
    assert r["default"]["border_10_mirror"] >= 0.75  # needs both options at once
    for edit in ("mirror_crop_centre_15", "mirror_crop_offcentre_15"):
        assert r["plain"][edit] == 0.0 and r["dihedral"][edit] == 0.0, edit
        # local features look up the query's mirror image too
        assert r["local"][edit] >= 0.75 and r["default"][edit] >= 0.75, edit
    for edit in ("crop_centre_10", "crop_offcentre_10", "crop_one_side_10", "rotate_5deg"):
        assert r["plain"][edit] == 0.0 and r["dihedral"][edit] == 0.0, edit
        assert r["local"][edit] >= 0.75 and r["default"][edit] >= 0.75, edit
    for config in ("plain", "dihedral", "trim", "local", "default"):
        assert report["false_matches"][config]["pairs"] == 0
        assert report["false_matches"][config]["pairs_checked"] == 8 * 4 - 4
    cost = report["cost"]
    assert cost["plain"]["hashes_per_query"] == 1.0
    assert cost["dihedral"]["hashes_per_query"] == 8.0
    # PDQ, and the local features of the query and of its mirror image
    assert cost["local"]["hashes_per_query"] == 3.0
    assert cost["local"]["index_size_ratio"] > 100 and cost["trim"]["index_size_ratio"] == 1.0


def test_unknown_edit_and_bad_folder(tmp_path: Path) -> None:
    env = {"SAFEGUARD_HOME": str(tmp_path / "home")}
    r = run_safeguard(["eval", "robustness", str(tmp_path), "--edit", "nope"], env)
    assert r.returncode == 2 and "unknown edit or family 'nope'" in r.stderr
    r = run_safeguard(["eval", "robustness", str(tmp_path)], env)
    assert r.returncode == 2 and "needs at least 4 images" in r.stderr
    r = run_safeguard(["eval", "robustness", str(tmp_path / "missing")], env)
    assert r.returncode == 2 and "not a directory" in r.stderr
