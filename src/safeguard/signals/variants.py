"""PDQ of an image as it may have been altered: the eight rotations and flips, and the picture
inside a border.

PDQ survives re-compression, resizing and colour changes, but not mirroring, rotation or an
added border: each gives a hash about 128 bits away from the original's. So a query image is
hashed the ways it may have been altered, and the matcher looks up each:

- **dihedral**: the hashes of all eight rotations and flips come from one pass
  (`pdq_dihedral_from_rgb`: the reference algorithm transforms the DCT, not the pixels).
  If a listed image was mirrored or rotated, one of the eight is within a few bits of its
  hash.
- **trimmed**: borders (letterbox, pillarbox, frames of any uniform or noisy colour) are found
  by walking in from each edge while the line is one colour within a tolerance, and the
  picture inside is hashed too (with its own eight variants).

Variant names say what undoes the alteration: `rot90` is the query turned a quarter.
Measured in docs/evaluation.md.
"""

from __future__ import annotations

import numpy as np

from safeguard.signals.pdq import pdq_dihedral_from_rgb

#: the order of the reference's dihedral hashes (and `pdqhash.compute_dihedral`'s)
DIHEDRAL = ("", "rot90", "rot180", "rot270", "flip_v", "flip_h", "transpose", "transverse")
TRIM = "trim"

# a border line: at least FRACTION of its pixels within TOLERANCE (per channel) of the
# colour of the outermost line; at least MIN_SIDE and at most MAX_SIDE of the side
TOLERANCE = 24
FRACTION = 0.9
MIN_SIDE = 0.01
MAX_SIDE = 0.45


def dihedral_hashes(pixels: np.ndarray) -> tuple[dict[str, str], int]:
    """{variant name: PDQ hex} for the eight rotations and flips ('' is the image as it is),
    and the PDQ quality."""
    hashes, quality = pdq_dihedral_from_rgb(pixels)
    return dict(zip(DIHEDRAL, hashes, strict=True)), quality


def _lines(pixels: np.ndarray, side: str, start: int, stop: int) -> np.ndarray:
    """Lines `start` to `stop` counted in from one edge ('t', 'b', 'l' or 'r'), outermost
    first, as (lines, pixels, 3) int16."""
    h, w, _ = pixels.shape
    if side == "t":
        block = pixels[start:stop]
    elif side == "b":
        block = pixels[h - stop : h - start][::-1]
    elif side == "l":
        block = pixels[:, start:stop].transpose(1, 0, 2)
    else:
        block = pixels[:, w - stop : w - start][:, ::-1].transpose(1, 0, 2)
    return block.astype(np.int16)


def _border(pixels: np.ndarray, side: str, limit: int) -> int:
    """How many lines in from one edge are border. Reads a few lines at a time, so a
    picture with no border costs almost nothing."""
    ref = np.median(_lines(pixels, side, 0, 1)[0], axis=0)
    n, step = 0, 4
    while n < limit:
        block = _lines(pixels, side, n, min(limit, n + step))
        same = (np.abs(block - ref).max(axis=2) <= TOLERANCE).mean(axis=1) >= FRACTION
        if not same.all():
            return n + int(np.argmin(same))
        n += len(same)
        step *= 2
    return limit


def trim_borders(pixels: np.ndarray) -> np.ndarray | None:
    """The picture inside a border, or None when no side has one."""
    h, w, _ = pixels.shape
    if h < 16 or w < 16:
        return None
    mh, mw = max(1, int(h * MAX_SIDE)), max(1, int(w * MAX_SIDE))
    top, bottom = (_border(pixels, side, mh) for side in "tb")
    left, right = (_border(pixels, side, mw) for side in "lr")
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
