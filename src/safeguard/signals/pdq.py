"""PDQ, Meta's perceptual hash for photos: 256 bits, compared by Hamming distance.

Hashes are computed over RGB pixels decoded by Pillow, the path python-threatexchange and
HMA take, exactly as their binding of Meta's C++ core (`pdqhash`) computes them, luma in
double precision included, so our hashes agree bit for bit with the lists they produce; the
computation is safeguard's compiled copy of the algorithm (signals/_pdq.c), which takes
about a third of `pdqhash`'s time and memory, for one hash or for the eight of the image's
rotations and flips (signals/variants.py). See docs/signals.md for how image modes are
handled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from safeguard.signals import _pdq
from safeguard.signals.base import HammingHexSignal, Hashed

if TYPE_CHECKING:
    from safeguard.index.base import SignalIndex

PDQ_BITS = 256
DEFAULT_THRESHOLD = 31
#: beyond half the bits, two random hashes are as likely to match as not
MAX_THRESHOLD = PDQ_BITS // 2


class PdqSignal(HammingHexSignal):
    name = "pdq"
    aliases = ("hash_pdq", "pdq_hash")
    description = "PDQ perceptual hash of a photo, 64 hex digits (256 bits, Hamming distance)"
    example = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    content_types = ("photo",)
    hex_length = 64
    has_quality = True
    default_threshold = DEFAULT_THRESHOLD
    max_threshold = MAX_THRESHOLD

    @classmethod
    def make_index(cls, ids: Sequence[int], values: Sequence[str]) -> SignalIndex:
        from safeguard.index.mih import MihPdqIndex

        return MihPdqIndex.from_words(pdq_to_words(list(values)), np.asarray(ids, dtype=np.int64))

    @classmethod
    def hash_pixels(cls, pixels: np.ndarray, *, variants: bool = False) -> Hashed:
        if variants:
            from safeguard.signals.variants import pdq_variants

            value, quality, others = pdq_variants(pixels)
            return Hashed(value, quality, others)
        value, quality = pdq_from_rgb(pixels)
        return Hashed(value, quality)

    @classmethod
    def allows_variant(cls, bank: Any, variant: str) -> bool:
        """Rotations and flips count where the bank has `dihedral` on, the picture inside
        a border where it has `trim_borders` on (signals/variants.py)."""
        from safeguard.signals.variants import needs_dihedral, needs_trim

        return (bank.dihedral or not needs_dihedral(variant)) and (
            bank.trim_borders or not needs_trim(variant)
        )


def pdq_from_rgb(pixels: np.ndarray, *, single_precision: bool = False) -> tuple[str, int]:
    """PDQ hash (64 lower-case hex chars) and quality (0-100) of an HxWx3 uint8 RGB array:
    luma in double precision as `pdqhash` computes it for photos, or with
    `single_precision` as vPDQ's reference computes it for video frames."""
    value, quality = _hash(pixels, single_precision, dihedral=False)
    return value.hex(), quality


def pdq_dihedral_from_rgb(pixels: np.ndarray) -> tuple[list[str], int]:
    """The PDQ of an HxWx3 uint8 RGB array and of its seven other rotations and flips, in
    `pdqhash.compute_dihedral`'s order (signals/variants.py names them), and its quality:
    one pass, the turned hashes derived from the DCT as the reference derives them."""
    raw, quality = _hash(pixels, False, dihedral=True)
    return [raw[i : i + 32].hex() for i in range(0, 256, 32)], quality


def _hash(pixels: np.ndarray, single: bool, *, dihedral: bool) -> tuple[bytes, int]:
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels are HxWx3 RGB, not {pixels.shape}")
    height, width = pixels.shape[:2]
    return _pdq.rgb(pixels, height, width, width * 3, single, dihedral)


def pdq_to_words(hex_values: list[str], chunk: int = 1 << 20) -> np.ndarray:
    """Pack PDQ hex strings into an (N, 4) uint64 array for fast Hamming distance.

    Word 0 holds the first 16 hex characters, most significant bit first.
    """
    out = np.empty((len(hex_values), 4), dtype=np.uint64)
    for start in range(0, len(hex_values), chunk):
        raw = bytes.fromhex("".join(hex_values[start : start + chunk]))
        out[start : start + chunk] = np.frombuffer(raw, dtype=">u8").reshape(-1, 4)
    return out
