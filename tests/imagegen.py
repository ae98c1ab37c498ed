"""Synthetic test files: tiny distinct images, edited copies, hostile files. No real content."""

from __future__ import annotations

import io
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


def flat_png(width: int, height: int, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A one-colour RGB PNG: 300 KB for 100 megapixels (each row after the first is "same as
    the row above"), 300 MB once decoded in full."""
    comp = zlib.compressobj(6)
    parts = [comp.compress(b"\x00" + bytes(colour) * width)]
    up = b"\x02" + b"\x00" * (width * 3)  # filter "up", all zero: the row above again
    parts += [comp.compress(up) for _ in range(height - 1)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def flat_jpeg(width: int, height: int) -> bytes:
    """A mid-grey baseline greyscale JPEG of any size, written directly: the headers of a
    small JPEG Pillow made, with the new size, and one 6-bit code per 8x8 block (DC difference
    0, end of block). 16000x16000 is 3 MB, and 256 megapixels once decoded."""
    buf = io.BytesIO()
    Image.new("L", (16, 16), 128).save(buf, "JPEG", quality=90)  # level 128: DC 0
    small = buf.getvalue()
    sos = small.index(b"\xff\xda")
    head = bytearray(small[: sos + 2 + struct.unpack(">H", small[sos + 2 : sos + 4])[0]])
    sof = head.index(b"\xff\xc0")
    head[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    blocks = -(-width // 8) * -(-height // 8)
    bits = "001010" * (blocks % 4)  # DC category 0 ("00"), end of block ("1010")
    bits += "1" * (-len(bits) % 8)  # pad the last byte with ones
    tail = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    return bytes(head) + b"\x28\xa2\x8a" * (blocks // 4) + tail + b"\xff\xd9"
