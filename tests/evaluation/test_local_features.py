"""Cropped and slightly rotated copies match through `safeguard match` by local features,
per bank option, and stop matching when the option or the content goes (both stores)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

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
