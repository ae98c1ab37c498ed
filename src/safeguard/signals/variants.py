"""PDQ of an image as it may have been altered: the eight rotations and flips, and the picture
inside a border.

PDQ survives re-compression, resizing and colour changes, but not mirroring, rotation or an
added border: each gives a hash about 128 bits away from the original's. So a query image is
hashed the ways it may have been altered, and the matcher looks up each:

- **dihedral**: `pdqhash.compute_dihedral` gives the hashes of all eight rotations and flips
  in one pass (the reference algorithm transforms the DCT, not the pixels). If a listed
  image was mirrored or rotated, one of the eight is within a few bits of its hash.
- **trimmed**: borders (letterbox, pillarbox, frames of any uniform or noisy colour) are found
  by walking in from each edge while the line is one colour within a tolerance, and the
  picture inside is hashed too (with its own eight variants).

Variant names say what undoes the alteration: `rot90` is the query turned a quarter.
Measured in docs/evaluation.md.
"""

from __future__ import annotations

import numpy as np
import pdqhash

#: pdqhash.compute_dihedral's order
DIHEDRAL = ("", "rot90", "rot180", "rot270", "flip_v", "flip_h", "transpose", "transverse")
TRIM = "trim"

# a border line: at least FRACTION of its pixels within TOLERANCE (per channel) of the
# colour of the outermost line; at least MIN_SIDE and at most MAX_SIDE of the side
TOLERANCE = 24
FRACTION = 0.9
MIN_SIDE = 0.01
MAX_SIDE = 0.45


def _hex(bits: np.ndarray) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def dihedral_hashes(pixels: np.ndarray) -> tuple[dict[str, str], int]:
    """{variant name: PDQ hex} for the eight rotations and flips ('' is the image as it is),
    and the PDQ quality."""
    hashes, quality = pdqhash.compute_dihedral(np.ascontiguousarray(pixels))
    return {name: _hex(h) for name, h in zip(DIHEDRAL, hashes, strict=True)}, int(quality)


def _border(lines: np.ndarray) -> int:
    """How many of `lines` (outermost first; shape lines x pixels x 3) are border."""
    ref = np.median(lines[0], axis=0)
    same = (np.abs(lines - ref).max(axis=2) <= TOLERANCE).mean(axis=1) >= FRACTION
    return len(same) if same.all() else int(np.argmin(same))


def trim_borders(pixels: np.ndarray) -> np.ndarray | None:
    """The picture inside a border, or None when no side has one."""
    h, w, _ = pixels.shape
    if h < 16 or w < 16:
        return None
    a = pixels.astype(np.int16)
    mh, mw = max(1, int(h * MAX_SIDE)), max(1, int(w * MAX_SIDE))
    top = _border(a[:mh])
    bottom = _border(a[::-1][:mh])
    left = _border(a[:, :mw].transpose(1, 0, 2))
    right = _border(a[:, ::-1][:, :mw].transpose(1, 0, 2))
    top, bottom = (v if v >= h * MIN_SIDE else 0 for v in (top, bottom))
    left, right = (v if v >= w * MIN_SIDE else 0 for v in (left, right))
    if not (top or bottom or left or right):
        return None
    inner = pixels[top : h - bottom, left : w - right]
    return inner if inner.shape[0] >= 16 and inner.shape[1] >= 16 else None


def pdq_variants(pixels: np.ndarray) -> tuple[str, int, dict[str, str]]:
    """(PDQ hex, quality, {variant name: PDQ hex}) of an image: the hash itself, and the
    hashes of the ways it may have been altered (see the module docstring)."""
    hashes, quality = dihedral_hashes(pixels)
    variants = {name: h for name, h in hashes.items() if name}
    inner = trim_borders(pixels)
    if inner is not None:
        trimmed, _ = dihedral_hashes(inner)
        for name, h in trimmed.items():
            variants[f"{TRIM}+{name}" if name else TRIM] = h
    return hashes[""], quality, variants


def needs_dihedral(variant: str) -> bool:
    return variant.split("+")[-1] in DIHEDRAL[1:]


def needs_trim(variant: str) -> bool:
    return variant.split("+")[0] == TRIM
