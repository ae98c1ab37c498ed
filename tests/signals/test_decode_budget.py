"""Decoding within the decode memory (signals/images.py, docs/signals.md "Decode memory").

Images that fit the budget are decoded in full, so PDQ is bit for bit what pdqhash gives on
Pillow's full decode (and what python-threatexchange gives); larger ones are decoded at
reduced size (PNG in strips, JPEG by DCT scaling) with the same pixels a full decode and
`Image.reduce` would give, or refused with `over_decode_budget`.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from safeguard import hash_bytes
from safeguard.samples import scene
from safeguard.signals.images import (
    HASH_BYTES_PER_PIXEL,
    REDUCED_PIXELS,
    _png_strips,
    decode_budget,
    decoded,
)
from safeguard.signals.pdq import PdqSignal, pdq_from_rgb
from tests.imagegen import flat_jpeg, flat_png


def _encode(im: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _reference_pdq(data: bytes) -> str:
    """pdqhash on Pillow's full decode: the reference path."""
    return pdq_from_rgb(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))[0]


def test_a_twelve_megapixel_photo_is_hashed_exactly_as_python_threatexchange() -> None:
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes

    data = _encode(scene(7, (4032, 3024)), "JPEG", quality=90)
    assert decode_budget() > 4032 * 3024 * HASH_BYTES_PER_PIXEL  # a phone photo fits
    result = hash_bytes(data)
    assert result.ok and (result.width, result.height) == (4032, 3024)
    assert result.pdq == pdq_from_bytes(data)[0] == _reference_pdq(data)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "1", "P;4", "P;2"])
def test_png_strips_are_the_pixels_of_a_full_decode_reduced(mode: str) -> None:
    rng = np.random.default_rng(3)
    im = Image.fromarray(rng.integers(0, 256, (97, 131, 3), dtype=np.uint8))
    im = im.resize((131 * 5, 97 * 5), Image.Resampling.BICUBIC)  # rows worth filtering
    if mode.startswith("P;"):
        colours = 2 ** int(mode[2:])
        data = _encode(im.quantize(colours), bits=int(mode[2:]), optimize=True)
    elif mode == "P":
        data = _encode(im.quantize(200))
    else:
        data = _encode(im.convert(mode), optimize=True)
    for k in (1, 2, 3, 7):
        full = Image.open(io.BytesIO(data)).convert("RGB")
        expected = full.reduce(k) if k > 1 else full
        got = _png_strips(Image.open(io.BytesIO(data)), data, k)
        assert np.array_equal(np.asarray(got), np.asarray(expected)), (mode, k)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_large_image_is_reduced_and_pdq_stays_close(fmt: str) -> None:
    im = scene(11, (1500, 1000)).resize((9000, 6000), Image.Resampling.BICUBIC)  # 54 MP
    data = _encode(im, fmt, **({"compress_level": 1} if fmt == "PNG" else {"quality": 90}))
    del im
    assert decode_budget() < 9000 * 6000 * HASH_BYTES_PER_PIXEL  # too large to decode in full
    with decoded(data, 10**8) as image:
        assert (image.width, image.height) == (9000, 6000) and image.reduced
        h, w, _ = image.pixels.shape
        assert w * h <= REDUCED_PIXELS and max(w, h) >= 1024
    result = hash_bytes(data, variants=True, local=True)
    assert result.ok and (result.width, result.height) == (9000, 6000)
    assert result.local is not None  # local features see a 512-pixel side or more
    # measured over 18 photos: mean 2 (PNG) to 4 (JPEG) bits, at most 8; matching allows 31
    assert PdqSignal.distance(result.pdq, _reference_pdq(data)) <= 12


def test_hostile_png_and_jpeg_decode_in_bounded_memory() -> None:
    """The issue's 10000x9999 one-colour PNG (300 KB) and a 10000x10000 JPEG: hashed at
    reduced size, their stored size reported."""
    for data, size in ((flat_png(10000, 9999), (10000, 9999)), (flat_jpeg(10000, 10000), None)):
        with decoded(data, 10**8) as image:
            assert (image.width, image.height) == (size or (10000, 10000))
            assert image.pixels.shape[0] * image.pixels.shape[1] <= REDUCED_PIXELS
    assert hash_bytes(flat_jpeg(16000, 16000)).error_code == "too_many_pixels"


def test_truncated_png_strips_are_corrupt_not_a_crash() -> None:
    data = flat_png(6000, 6000)
    cut = data[: len(data) // 2]
    result = hash_bytes(cut)
    assert result.error_code == "corrupt_image" and "PNG" in (result.error or "")


_OVER_BUDGET = """
import io, json
from PIL import Image
from safeguard import hash_bytes
from safeguard.signals.images import decode_budget
buf = io.BytesIO()
Image.new("RGB", (5000, 5000), (90, 20, 20)).save(buf, "JPEG", progressive=True)
webp = io.BytesIO()
Image.new("RGB", (4000, 4000), (20, 90, 20)).save(webp, "WEBP", lossless=True)
rows = [hash_bytes(b.getvalue()).to_json() for b in (buf, webp)]
print(json.dumps({"budget": decode_budget(), "rows": rows}))
"""


def test_what_cannot_be_decoded_within_the_budget_is_refused_with_the_reason() -> None:
    """A process with a 64 MiB decode budget: a 25 MP progressive JPEG (libjpeg keeps every
    coefficient: 150 MB) and a 16 MP WebP (no reduced decode: 128 MB) are refused."""
    env = {"SAFEGUARD_DECODE_MEMORY": "64", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", _OVER_BUDGET], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["budget"] == 64 << 20
    for row in out["rows"]:
        assert row["error_code"] == "over_decode_budget", row
        assert "SAFEGUARD_DECODE_MEMORY" in row["error"] and "MiB" in row["error"]
        assert row["md5"] and row["pdq"] is None  # digests still computed
