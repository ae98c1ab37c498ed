"""A toy signal type shipped as its own package, for the plug-in test (tests/test_plugin_type.py).

`ahash` is the classic average hash: the photo shrunk to 8x8 grey pixels, one bit per pixel
(brighter than the mean or not), 16 hex digits, compared by Hamming distance. It is a weak
hash, chosen because it is short to write; what the test checks is that a type declared
outside safeguard works everywhere (banks, hash lists, the CLI, HTTP) through the entry
point in safeguard_toy_ahash-0.1.dist-info/entry_points.txt, with no change to safeguard.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from safeguard.signals.base import HammingHexSignal, Hashed


class AHashSignal(HammingHexSignal):
    name = "ahash"
    aliases = ("average_hash",)
    description = "average hash of a photo, 16 hex digits (a toy plug-in type)"
    example = "ffff00000000ffff"
    content_types = ("photo",)
    hex_length = 16
    default_threshold = 6
    max_threshold = 32

    @classmethod
    def hash_pixels(cls, pixels: np.ndarray, *, variants: bool = False) -> Hashed:
        grey = Image.fromarray(pixels).convert("L").resize((8, 8), Image.Resampling.BOX)
        values = np.asarray(grey, dtype=np.float64).ravel()
        bits = values > values.mean()
        return Hashed(np.packbits(bits).tobytes().hex())
