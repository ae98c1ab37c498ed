"""Cropped and slightly rotated copies, mirrored or not, match through `safeguard match` by
local features, per bank option, and stop matching when the option or the content goes (both
stores)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageOps

from safeguard.errors import InvalidSignal
from safeguard.signals import local
from tests.conftest import Cli


def _crop(im: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = im.size
    return im.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def _local_matches(cli: Cli, path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    [line] = cli.lines("match", path)
    return {m["bank"]: m for m in line["matches"] if m["signal_type"] == "local"}


def test_crops_match_by_local_features(cli: Cli, train_images: list[Path], tmp_path: Path) -> None:
    listed, unrelated = train_images[5], train_images[6]
    assert cli("bank", "create", "crops").exit_code == 0  # local features on by default
    assert cli("bank", "create", "pdq-only", "--no-local-features").exit_code == 0
    added = {}
    for bank in ("crops", "pdq-only"):
        [record] = [r for r in cli.lines("bank", "add", bank, listed, "--json") if "bank" in r]
        added[bank] = record["content_id"]
    assert "local features" in cli("bank", "show", "crops").stdout
    with Image.open(listed) as im:
        im = im.convert("RGB")
        copies = {
            "centre_10": _crop(im, 0.1, 0.1, 0.1, 0.1),
            "offcentre_10": _crop(im, 0.1, 0.1, 0, 0),
            "one_side_10": _crop(im, 0.1, 0, 0, 0),
            "rotate_5deg": im.rotate(5, resample=Image.Resampling.BICUBIC),
        }
    for name, copy in copies.items():
        path = tmp_path / f"{name}.jpg"
        copy.save(path, quality=85)
        found = _local_matches(cli, path)
        assert set(found) == {"crops"}, name
        assert found["crops"]["content_id"] == added["crops"]
        assert 0 <= found["crops"]["distance"] <= local.MAX_DISTANCE
    assert _local_matches(cli, unrelated) == {}

    crop = tmp_path / "centre_10.jpg"
    assert cli("bank", "update", "crops", "--no-local-features").exit_code == 0
    assert _local_matches(cli, crop) == {}
    assert cli("bank", "update", "crops", "--local-features").exit_code == 0
    assert set(_local_matches(cli, crop)) == {"crops"}
    assert cli("bank", "remove", "crops", added["crops"]).exit_code == 0
    assert _local_matches(cli, crop) == {}


def test_mirrored_crops_match_by_local_features(
    cli: Cli, train_images: list[Path], tmp_path: Path
) -> None:
    """A mirror image cut 15% matches by the features of the query's mirror, reported as the
    PDQ variants report a mirror (`flip_h`); PDQ finds it in no way, and a photo that is not
    listed, mirrored and cut the same way, matches nothing."""
    listed, unrelated = train_images[5], train_images[6]
    banks = {"mirrors": (), "no-dihedral": ("--no-dihedral",), "pdq-only": ("--no-local-features",)}
    added = {}
    for bank, options in banks.items():
        assert cli("bank", "create", bank, *options).exit_code == 0
        [record] = [r for r in cli.lines("bank", "add", bank, listed, "--json") if "bank" in r]
        added[bank] = record["content_id"]
    copies = {}
    for name, source in (("listed", listed), ("unrelated", unrelated)):
        with Image.open(source) as im:
            mirrored = ImageOps.mirror(im.convert("RGB"))
        for crop, sides in (("centre", (0.15,) * 4), ("offcentre", (0.15, 0.15, 0, 0))):
            copies[name, crop] = tmp_path / f"{name}-mirror-crop-{crop}-15.jpg"
            _crop(mirrored, *sides).save(copies[name, crop], quality=85)
    for crop in ("centre", "offcentre"):
        [line] = cli.lines("match", copies["listed", crop])
        # the mirror image's local features find it, in every bank that keeps them: they
        # follow `local_features` alone (PDQ's `dihedral` does not govern them)
        assert {m["bank"] for m in line["matches"]} == {"mirrors", "no-dihedral"}, crop
        for m in line["matches"]:
            assert m["signal_type"] == "local" and m["variant"] == "flip_h", crop
            assert m["content_id"] == added[m["bank"]]
            assert 0 <= m["distance"] <= local.MAX_DISTANCE
        [line] = cli.lines("match", copies["unrelated", crop])
        assert line["matches"] == [], crop
    [line] = cli.lines("match", unrelated)
    assert line["matches"] == []


def test_hash_output_leaves_local_features_out(cli: Cli, train_images: list[Path]) -> None:
    [line] = cli.lines("hash", train_images[0])
    assert "local" not in line and line["pdq"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("AAAA", "must start with 'v1:'"),
        ("v1:@@@@", "not valid base64"),
        ("v1:AQA=", "wrong length"),
    ],
)
def test_malformed_values_are_refused(value: str, problem: str) -> None:
    with pytest.raises(InvalidSignal, match=problem):
        local.decode(value)
