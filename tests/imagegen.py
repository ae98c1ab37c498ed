"""Synthetic test files: tiny distinct images, edited copies, hostile files. No real content."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def tiny_images(folder: Path, n: int, size: int = 24, seed: int = 0) -> list[Path]:
    """`n` small random-noise PNGs, all different."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        p = folder / f"img{i:05d}.png"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def edited_copies(originals: list[Path], folder: Path) -> dict[str, list[Path]]:
    """JPEG quality 50 and half-size copies of each original."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[Path]] = {"q50": [], "half": []}
    for p in originals:
        with Image.open(p) as im:
            rgb = im.convert("RGB")
        q = folder / f"{p.stem}-q50.jpg"
        rgb.save(q, "JPEG", quality=50)
        h = folder / f"{p.stem}-half.png"
        rgb.resize((rgb.width // 2, rgb.height // 2), Image.Resampling.BILINEAR).save(h)
        out["q50"].append(q)
        out["half"].append(h)
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, side: int = 20000) -> Path:
    """A real decompression bomb: a side x side greyscale PNG of zeros, a few hundred KB."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )
    return path
