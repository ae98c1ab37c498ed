"""PDQ, Meta's perceptual hash for photos: 256 bits, compared by Hamming distance.

Hashes come from the reference implementation (`pdqhash`, Meta's C++ core) over RGB pixels
decoded by Pillow, the same path python-threatexchange and HMA take, so our hashes agree bit
for bit with the lists they produce. See docs/signals.md for how image modes are handled.
"""

from __future__ import annotations

import numpy as np
import pdqhash

from safeguard.signals.base import HexDigestSignal

PDQ_BITS = 256
DEFAULT_THRESHOLD = 31


class PdqSignal(HexDigestSignal):
    name = "pdq"
    aliases = ("hash_pdq", "pdq_hash")
    hex_length = 64
    exact = False
    max_threshold = PDQ_BITS

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return (int(a, 16) ^ int(b, 16)).bit_count()


def pdq_from_rgb(pixels: np.ndarray) -> tuple[str, int]:
    """PDQ hash (64 lower-case hex chars) and quality (0-100) of an HxWx3 uint8 RGB array."""
    bits, quality = pdqhash.compute(pixels)
    return np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality)


def pdq_to_words(hex_values: list[str], chunk: int = 1 << 20) -> np.ndarray:
    """Pack PDQ hex strings into an (N, 4) uint64 array for fast Hamming distance.

    Word 0 holds the first 16 hex characters, most significant bit first.
    """
    out = np.empty((len(hex_values), 4), dtype=np.uint64)
    for start in range(0, len(hex_values), chunk):
        raw = bytes.fromhex("".join(hex_values[start : start + chunk]))
        out[start : start + chunk] = np.frombuffer(raw, dtype=">u8").reshape(-1, 4)
    return out
