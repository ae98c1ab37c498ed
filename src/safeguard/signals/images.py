"""Decode image bytes to RGB pixels with Pillow, in bounded memory, refusing hostile input with
a clear reason.

Policy (the same as the reference path, so hashes agree with HMA and python-threatexchange):
- EXIF orientation is NOT applied: pixels are hashed as stored.
- Alpha is dropped, not composited: `convert("RGB")` keeps the colour under transparent pixels.
- Palette images are expanded through their palette.
- 16-bit and 32-bit greyscale are converted by Pillow, which clips values above 255.
- Multi-frame files (GIF, TIFF) contribute their first frame.
- The pixel count is checked from the header, before any pixel is decoded.

Memory (docs/signals.md, "Decode memory"): every decode is planned from the header and its
peak memory estimated, decode and hashing together. A plan that fits the per-process decode
budget (`SAFEGUARD_DECODE_MEMORY`) decodes the image in full, so PDQ is exactly the reference
hash. A larger image is decoded at reduced size, to at most `REDUCED_PIXELS` (fewer when the
budget is small): JPEG through libjpeg's DCT scaling (`Image.draft`, 1/2 to 1/8), non-interlaced
PNG of 8 bits or fewer in strips of rows, each box-reduced as it is decoded (the same pixels as
`Image.reduce` of the full decode), other formats by a full decode and `Image.reduce` when that
decode fits the budget. What cannot be decoded within the budget is refused
(`over_decode_budget`). PDQ of a reduced image moves a few bits (measured: mean 2-4, at most 8,
against a match threshold of 31).

Decodes in one process share the budget: each reserves its estimate before it starts and
waits, up to `SAFEGUARD_DECODE_WAIT` seconds, while others hold it (then `busy`). So a process
never holds more than the budget in decodes, however many requests arrive at once. libjpeg's
own large buffers (progressive and multi-scan JPEG) are capped at the budget too (`JPEGMEM`).
"""

from __future__ import annotations

import ctypes
import io
import math
import os
import re
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from safeguard.config import DecodeLimits
from safeguard.errors import FileProblem

#: a reduced decode keeps at most this many pixels (about 2048 x 2048): PDQ works on a 64 x 64
#: grid and local features on a 512-pixel side, so this is plenty for both; a small budget
#: lowers it to what half the budget can hash, but never below MIN_REDUCED_PIXELS
REDUCED_PIXELS = 1 << 22
MIN_REDUCED_PIXELS = 1 << 20
#: peak bytes per pixel of decoding and hashing a picture in full (Pillow's image, the RGB
#: array, the compiled PDQ's two float buffers, the dihedral variants, trimming, local
#: features), measured over the idle process on 12-megapixel pictures with every signal and
#: variant: JPEG 11.0, PNG 11.2-12.0 (L, P, RGB), TIFF 13.9, PNG RGBA 14.8, WebP 17.4
#: (27 for JPEG when PDQ went through pdqhash's NumPy temporaries); the worst, with a margin
HASH_BYTES_PER_PIXEL = 18
#: bytes per pixel of Pillow's in-memory modes (others: 4)
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
#: PNG raw modes whose strips can be decoded and packed back (8-bit and palette, not 16-bit)
_STRIP_BITS = {"1": 1, "P;1": 1, "P;2": 2, "P;4": 4, "L": 8, "P": 8, "LA": 16, "RGB": 24}
_STRIP_BITS["RGBA"] = 32
#: pixels per decoded PNG strip
_STRIP_PIXELS = 1 << 20
_FIXED_COST = 2 << 20


@dataclass
class Decoded:
    """RGB pixels of an image, with its size as stored (the pixels may be reduced)."""

    pixels: np.ndarray
    width: int
    height: int

    @property
    def reduced(self) -> bool:
        return self.pixels.shape[:2] != (self.height, self.width)


@dataclass
class _Plan:
    how: str  # "full", "jpeg" (draft), "png" (strips) or "reduce" (full decode, then reduce)
    factor: int  # reduce width and height by this much (1: full size)
    target: int  # pixels a reduced decode may keep
    cost: int  # estimated peak bytes, decode and hashing together


class _Budget:
    """Bytes of decode memory a process may hold at once; decodes reserve their estimate."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0
        self._cond = threading.Condition()

    def reserve(self, cost: int, wait: float) -> bool:
        cost = min(cost, self.capacity)
        deadline = time.monotonic() + wait
        with self._cond:
            while self.held + cost > self.capacity:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            self.held += cost
            return True

    def release(self, cost: int) -> None:
        with self._cond:
            self.held -= min(cost, self.capacity)
            self._cond.notify_all()


_budget: tuple[int, _Budget] | None = None
_M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)


def _process_budget(capacity: int) -> _Budget:
    """This process's budget (made again after fork: a child holds none of its parent's).
    The first decode in a process sets its `capacity` in bytes; every caller in one process
    is handed the same settings, so later ones ask for the same."""
    global _budget
    if _budget is None or _budget[0] != os.getpid():
        # libjpeg reads JPEGMEM when a decode starts: cap its whole-image buffers too
        os.environ.setdefault("JPEGMEM", f"{max(1, capacity >> 20)}M")
        _return_large_buffers()
        _budget = (os.getpid(), _Budget(capacity))
    return _budget[1]


def _return_large_buffers() -> None:
    """Make glibc give large buffers (pixels) back to the system when they are freed.

    glibc serves a buffer over its mmap threshold from its own mapping and unmaps it on free,
    but raises the threshold each time such a buffer is freed (up to 32 MiB), after which
    buffers come from per-thread heaps that keep what they once held: concurrent decodes on
    the server's threads then leave the process's memory above the budget. A fixed 1 MiB
    threshold keeps every pixel buffer in its own mapping. Elsewhere than glibc: nothing.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        pass


def decode_budget(limits: DecodeLimits | None = None) -> int:
    """The decode memory, in bytes, this process's decodes share (SAFEGUARD_DECODE_MEMORY;
    `limits` as for `decoded`)."""
    return _process_budget((limits or DecodeLimits.from_env()).memory).capacity


@contextmanager
def decoded(data: bytes, max_pixels: int, limits: DecodeLimits | None = None) -> Iterator[Decoded]:
    """The image in `data` as RGB pixels, while the memory it was planned with is reserved:
    hash inside the `with` block. FileProblem says why an image cannot be decoded.

    `limits` are the settings' (`Settings.decode`); a caller handed no settings passes
    None, which reads them from the environment (SAFEGUARD_DECODE_MEMORY, _WAIT)."""
    limits = limits or DecodeLimits.from_env()
    budget = _process_budget(limits.memory)
    with warnings.catch_warnings():
        # Pillow warns about large images and palette transparency; we decide ourselves.
        warnings.simplefilter("ignore")
        im = _open(data, max_pixels)
        plan = _plan(im, budget.capacity)
        if not budget.reserve(plan.cost, limits.wait):
            raise FileProblem(
                "the server is busy decoding other images (SAFEGUARD_DECODE_MEMORY); "
                "try again shortly",
                "busy",
            )
        try:
            width, height = im.size  # before decoding: a JPEG draft changes `im.size`
            pixels = _decode(im, data, plan)
            del im
            yield Decoded(pixels, width, height)
        finally:
            budget.release(plan.cost)


def decode_rgb(data: bytes, max_pixels: int, limits: DecodeLimits | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of an encoded image (reduced when large), or FileProblem."""
    with decoded(data, max_pixels, limits) as image:
        return image.pixels


def _open(data: bytes, max_pixels: int) -> ImageFile.ImageFile:
    if not data:
        raise FileProblem("empty file (0 bytes)", "empty_file")
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise FileProblem("not an image format Pillow can read", "not_an_image") from None
    except Image.DecompressionBombError as e:
        # Pillow's own guard fired first (far above our limit); it states the pixel count
        found = re.search(r"\((\d+) pixels\)", str(e))
        pixels = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise FileProblem(_bomb_message(pixels, max_pixels), "too_many_pixels") from None
    except Exception as e:  # malformed headers raise many exception types
        raise FileProblem(f"corrupt image header: {_short(e)}", "corrupt_image") from None
    width, height = im.size
    if width <= 0 or height <= 0:
        raise FileProblem(f"image has no pixels ({width}x{height})", "corrupt_image")
    if width * height > max_pixels:
        raise FileProblem(
            _bomb_message(f"{width}x{height} = {width * height:,} pixels", max_pixels),
            "too_many_pixels",
        )
    return im


def _reduce_factor(width: int, height: int, target: int) -> int:
    """The smallest integer factor that brings width x height to at most `target` pixels."""
    k = max(1, math.isqrt(width * height // target))
    while math.ceil(width / k) * math.ceil(height / k) > target:
        k += 1
    return k


def _jpeg_buffers(im: Image.Image) -> int:
    """Bytes of libjpeg's whole-image coefficient buffers for a progressive JPEG (else 0)."""
    if not im.info.get("progressive"):
        return 0
    layers = getattr(im, "layer", None) or [("", 1, 1, 0)]
    hmax = max(h for _, h, _, _ in layers)
    vmax = max(v for _, _, v, _ in layers)
    share = sum(h * v for _, h, v, _ in layers) / (hmax * vmax)
    return int(im.width * im.height * share * 2)


def _plan(im: ImageFile.ImageFile, budget: int) -> _Plan:
    """How to decode `im` within `budget` bytes, or FileProblem(over_decode_budget)."""
    width, height = im.size
    pixels = width * height
    mode_bytes = _MODE_BYTES.get(im.mode, 4)
    is_jpeg = im.format in ("JPEG", "MPO")
    extra = _jpeg_buffers(im) if is_jpeg else 0
    # decoding: Pillow's image, its RGB conversion, the array; hashing: HASH_BYTES_PER_PIXEL
    full = _FIXED_COST + extra + pixels * max(mode_bytes + 4 + 6, HASH_BYTES_PER_PIXEL)
    if full <= budget:
        return _Plan("full", 1, pixels, full)
    target = (budget // 2) // (4 + HASH_BYTES_PER_PIXEL)
    target = max(MIN_REDUCED_PIXELS, min(REDUCED_PIXELS, target))
    k = _reduce_factor(width, height, target)
    small = math.ceil(width / k) * math.ceil(height / k)
    hashing = _FIXED_COST + small * (4 + HASH_BYTES_PER_PIXEL)
    if is_jpeg:
        scale = _draft_scale(width, height, k)
        drafted = math.ceil(width / scale) * math.ceil(height / scale)
        plan = _Plan("jpeg", k, target, hashing + extra + drafted * (mode_bytes + 4))
    elif _strips_ok(im):
        rows = k * max(1, _STRIP_PIXELS // (width * k))
        plan = _Plan("png", k, target, hashing + rows * width * (mode_bytes + 4 + 4))
    else:
        converted = pixels * (mode_bytes + (4 if im.mode != "RGB" else 0))
        plan = _Plan("reduce", k, target, hashing + converted)
    if plan.cost > budget:
        need, have = plan.cost >> 20, budget >> 20
        raise FileProblem(
            f"image is {width}x{height} {im.format} ({im.mode}): decoding it needs about "
            f"{need:,} MiB, over the decode memory of {have:,} MiB (SAFEGUARD_DECODE_MEMORY)",
            "over_decode_budget",
        )
    return plan


def _draft_scale(width: int, height: int, k: int) -> int:
    """The JPEG DCT scale (1, 2, 4 or 8) `Image.draft` picks when asked for 1/k of the size."""
    fits = min(width // math.ceil(width / k), height // math.ceil(height / k))
    return next(a for a in (8, 4, 2, 1) if fits >= a)


def _strips_ok(im: ImageFile.ImageFile) -> bool:
    """Whether `im` is a PNG `_png_strips` can decode: one non-interlaced 8-bit-or-less image."""
    if im.format != "PNG" or im.info.get("interlace") or len(im.tile) != 1:
        return False
    tile = im.tile[0]
    return tile[0] == "zip" and tile[1] == (0, 0, *im.size) and tile[3] in _STRIP_BITS


def _decode(im: ImageFile.ImageFile, data: bytes, plan: _Plan) -> np.ndarray:
    try:
        if plan.how == "png":
            rgb = _png_strips(im, data, plan.factor)
        else:
            if plan.how == "jpeg":
                size = (math.ceil(im.width / plan.factor), math.ceil(im.height / plan.factor))
                im.draft("RGB", size)
            im.load()
            rgb = im if im.mode == "RGB" else _to_rgb(im)
            if plan.how != "full":
                k = _reduce_factor(rgb.width, rgb.height, plan.target)
                rgb = rgb.reduce(k) if k > 1 else rgb
    except FileProblem:
        raise
    except Exception as e:
        raise FileProblem(
            f"truncated or corrupt image data ({im.format}): {_short(e)}", "corrupt_image"
        ) from None
    return np.asarray(rgb)


def _to_rgb(im: Image.Image) -> Image.Image:
    try:
        return im.convert("RGB")
    except Exception as e:
        raise FileProblem(
            f"cannot convert image mode {im.mode} to RGB: {_short(e)}", "unsupported_mode"
        ) from None


def _png_strips(im: ImageFile.ImageFile, data: bytes, k: int) -> Image.Image:
    """A non-interlaced PNG decoded a strip of rows at a time, each strip converted to RGB
    and reduced by `k`: the pixels of `im.convert("RGB").reduce(k)`, without ever holding the
    full image. Each strip is handed to Pillow's PNG decoder after the previous strip's last
    row, unfiltered, so the rows that refer to the row above decode as in one pass."""
    rawmode = cast(str, im.tile[0][3])  # a raw mode: _strips_ok checked it
    width, height = im.size
    row = 1 + (width * _STRIP_BITS[rawmode] + 7) // 8
    rows = k * max(1, _STRIP_PIXELS // (width * k))
    palette = im.palette.copy() if im.mode == "P" and im.palette else None
    stream = zlib.decompressobj()
    chunks = _idat_chunks(data)
    above = b"\x00" * row  # filter "none", all zero: what the decoder assumes above row 0
    out = Image.new("RGB", (math.ceil(width / k), math.ceil(height / k)))
    y = 0
    while y < height:
        n = min(rows, height - y)
        raw = bytearray(above)
        while len(raw) < row * (n + 1):
            chunk = stream.unconsumed_tail or next(chunks, None)
            if chunk is None:
                raise FileProblem("truncated or corrupt image data (PNG)", "corrupt_image")
            raw += stream.decompress(chunk, row * (n + 1) - len(raw))
        strip = Image.frombytes(im.mode, (width, n + 1), zlib.compress(raw, 0), "zip", rawmode)
        above = b"\x00" + strip.crop((0, n, width, n + 1)).tobytes("raw", rawmode)
        strip = strip.crop((0, 1, width, n + 1))
        if palette is not None:
            strip.putpalette(palette)
        rgb = strip if strip.mode == "RGB" else _to_rgb(strip)
        out.paste(rgb.reduce(k) if k > 1 else rgb, (0, y // k))
        y += n
    return out


def _idat_chunks(data: bytes) -> Iterator[bytes]:
    """The payloads of a PNG's IDAT chunks, in order."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IDAT":
            yield data[pos + 8 : pos + 8 + length]
        elif kind == b"IEND":
            return
        pos += 12 + length


def _bomb_message(size: str, max_pixels: int) -> str:
    return (
        f"image is {size}, over the limit of {max_pixels:,} (SAFEGUARD_MAX_IMAGE_PIXELS): "
        "refused unread as a possible decompression bomb"
    )


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]
