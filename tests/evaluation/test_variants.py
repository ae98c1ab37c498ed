"""Matching survives rotations, flips and borders through `safeguard match`, per bank option."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from safeguard.signals.variants import trim_borders
from tests.conftest import Cli


def test_trim_borders_finds_the_picture() -> None:
    rng = np.random.default_rng(1)
    picture = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    framed = np.zeros((160, 200, 3), dtype=np.uint8)
    framed[:] = (250, 250, 250)
    framed[20:140, 20:180] = picture
    inner = trim_borders(framed)
    assert inner is not None and inner.shape == picture.shape
    assert (inner == picture).all()
    assert trim_borders(picture) is None  # nothing to trim in a busy picture


def test_match_rotated_mirrored_and_framed_copies(
    cli: Cli, train_images: list[Path], tmp_path: Path
) -> None:
    listed = train_images[3]
    assert cli("bank", "create", "default-options").exit_code == 0
    assert cli("bank", "create", "plain", "--no-dihedral", "--no-trim-borders").exit_code == 0
    for bank in ("default-options", "plain"):
        assert cli("bank", "add", bank, listed).exit_code == 0
    with Image.open(listed) as im:
        im = im.convert("RGB")
        copies = {
            "mirror": ImageOps.mirror(im),
            "rot90": im.transpose(Image.Transpose.ROTATE_90),
            "framed": ImageOps.expand(im, border=im.width // 10, fill=(0, 0, 0)),
            "framed_mirror": ImageOps.expand(ImageOps.mirror(im), border=40, fill=(255, 255, 255)),
        }
    for name, copy in copies.items():
        path = tmp_path / f"{name}.jpg"
        copy.save(path, quality=90)
        [line] = cli.lines("match", path)
        banks = {m["bank"]: m for m in line["matches"] if m["signal_type"] == "pdq"}
        assert "default-options" in banks, name
        assert banks["default-options"]["variant"], name  # says how it was matched
        assert "plain" not in banks, name
    cli("bank", "update", "default-options", "--no-dihedral")
    [line] = cli.lines("match", tmp_path / "mirror.jpg")
    pdq = [m for m in line["matches"] if m["signal_type"] == "pdq"]
    assert not [m for m in pdq if m["bank"] == "default-options"]
    [line] = cli.lines("match", tmp_path / "framed.jpg")
    assert [m for m in line["matches"] if m["bank"] == "default-options"]
