"""How image modes, EXIF orientation and the quality floor are handled (docs/signals.md)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from safeguard import hash_bytes, hash_file
from safeguard.signals.pdq import PdqSignal


def _encode(im: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def test_alpha_is_dropped_not_composited(train_images: list[Path]) -> None:
    rgb = Image.open(train_images[0]).convert("RGB")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(0)  # fully transparent, colours kept underneath
    a, b = hash_bytes(_encode(rgb)), hash_bytes(_encode(rgba))
    assert a.pdq == b.pdq and a.pdq is not None


def test_palette_expanded_through_palette(train_images: list[Path]) -> None:
    p = Image.open(train_images[1]).convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE)
    expanded = p.convert("RGB")
    assert hash_bytes(_encode(p)).pdq == hash_bytes(_encode(expanded)).pdq


def test_sixteen_bit_grey_is_clipped_like_pillow() -> None:
    ramp = (np.arange(256 * 256, dtype=np.uint32).reshape(256, 256) % 1024).astype(np.uint16)
    im16 = Image.fromarray(ramp)  # values above 255 clip to white in Pillow's conversion
    clipped = Image.fromarray(np.minimum(ramp, 255).astype(np.uint8)).convert("RGB")
    r16, r8 = hash_bytes(_encode(im16)), hash_bytes(_encode(clipped))
    assert r16.ok and r16.pdq == r8.pdq


def test_exif_orientation_is_not_applied(train_images: list[Path]) -> None:
    im = Image.open(train_images[2]).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    tagged = hash_bytes(_encode(im, "JPEG", quality=95, exif=exif.tobytes()))
    plain = hash_bytes(_encode(im, "JPEG", quality=95))
    assert tagged.pdq == plain.pdq
    assert (tagged.width, tagged.height) == im.size


def test_low_quality_still_hashed_and_marked(tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (64, 64), (128, 128, 128)).save(flat)
    r = hash_file(flat, quality_floor=50)
    assert r.ok and len(r.pdq) == 64
    assert r.pdq_quality < 50 and r.low_quality is True


def test_file_and_bytes_agree(train_images: list[Path]) -> None:
    f = hash_file(train_images[3])
    b = hash_bytes(train_images[3].read_bytes())
    assert (f.md5, f.sha256, f.pdq, f.pdq_quality) == (b.md5, b.sha256, b.pdq, b.pdq_quality)
    assert PdqSignal.distance(f.pdq, b.pdq) == 0
