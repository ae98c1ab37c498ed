"""The catalogue of alterations a listed image meets when it is re-shared, each a function
from a Pillow image to the bytes a platform would receive.

Families group edits of one kind, so results read as "PDQ survives compression; plain PDQ
does not survive mirroring". Every edit is deterministic (noise is seeded per image), so two
runs on the same folder give the same numbers.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps


@dataclass(frozen=True)
class Edit:
    name: str
    family: str
    apply: Callable[[Image.Image], Image.Image]
    quality: int = 95  # JPEG quality of the file the edit is delivered as


def _same(im: Image.Image) -> Image.Image:
    return im  # for compression edits, the delivery encoding itself is the edit


def _resize(f: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.resize(
        (max(16, round(im.width * f)), max(16, round(im.height * f))), Image.Resampling.LANCZOS
    )


def _stretch(fx: float, fy: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.resize((round(im.width * fx), round(im.height * fy)))


def _enhance(kind: type, f: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: kind(im).enhance(f)


def _rotate(deg: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.rotate(deg, resample=Image.Resampling.BICUBIC, expand=False)


def _border(
    f: float, colour: tuple[int, int, int] = (0, 0, 0), sides: str = "tblr", noise: int = 0
) -> Callable[[Image.Image], Image.Image]:
    def apply(im: Image.Image) -> Image.Image:
        dy = round(im.height * f) if ("t" in sides or "b" in sides) else 0
        dx = round(im.width * f) if ("l" in sides or "r" in sides) else 0
        top, bottom = (dy if "t" in sides else 0), (dy if "b" in sides else 0)
        left, right = (dx if "l" in sides else 0), (dx if "r" in sides else 0)
        size = (im.width + left + right, im.height + top + bottom)
        canvas = np.empty((size[1], size[0], 3), dtype=np.int16)
        canvas[:] = colour
        if noise:
            rng = np.random.default_rng(zlib.crc32(im.tobytes()[:4096]))
            canvas += rng.integers(-noise, noise + 1, canvas.shape, dtype=np.int16)
        out = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
        out.paste(im, (left, top))
        return out

    return apply


def _crop(left: float, top: float, right: float, bottom: float) -> Callable[..., Image.Image]:
    def apply(im: Image.Image) -> Image.Image:
        w, h = im.size
        return im.crop(
            (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
        )

    return apply


def _watermark(im: Image.Image) -> Image.Image:
    out = im.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(10, im.height // 12)
    text = "shared via example.app"
    draw.text(
        (im.width * 0.05, im.height - 2 * size), text, fill=(255, 255, 255, 170), font_size=size
    )
    return Image.alpha_composite(out, layer).convert("RGB")


def _chain(*fns: Callable[[Image.Image], Image.Image]) -> Callable[[Image.Image], Image.Image]:
    def apply(im: Image.Image) -> Image.Image:
        for fn in fns:
            im = fn(im)
        return im

    return apply


_MIRROR = ImageOps.mirror
_FLIP = ImageOps.flip

CATALOGUE: tuple[Edit, ...] = (
    Edit("original", "identity", _same),
    *(Edit(f"jpeg_q{q}", "compression", _same, quality=q) for q in (30, 50, 70, 90)),
    *(Edit(f"resize_{f}x", "resize", _resize(f)) for f in (0.25, 0.5, 2.0)),
    Edit("blur_r1", "blur", lambda im: im.filter(ImageFilter.GaussianBlur(1))),
    Edit("blur_r2", "blur", lambda im: im.filter(ImageFilter.GaussianBlur(2))),
    Edit("sharpen", "blur", lambda im: im.filter(ImageFilter.SHARPEN)),
    Edit("brighter_30", "colour", _enhance(ImageEnhance.Brightness, 1.3)),
    Edit("darker_30", "colour", _enhance(ImageEnhance.Brightness, 0.7)),
    Edit("contrast_up_30", "colour", _enhance(ImageEnhance.Contrast, 1.3)),
    Edit("contrast_down_30", "colour", _enhance(ImageEnhance.Contrast, 0.7)),
    Edit("greyscale", "colour", lambda im: ImageOps.grayscale(im).convert("RGB")),
    Edit("watermark", "overlay", _watermark),
    Edit("mirror", "flip", _MIRROR),
    Edit("flip_vertical", "flip", _FLIP),
    Edit("rotate_90", "rotate", lambda im: im.transpose(Image.Transpose.ROTATE_90)),
    Edit("rotate_180", "rotate", lambda im: im.transpose(Image.Transpose.ROTATE_180)),
    Edit("rotate_270", "rotate", lambda im: im.transpose(Image.Transpose.ROTATE_270)),
    *(Edit(f"rotate_{d}deg", "small rotation", _rotate(d)) for d in (2, 5, 10)),
    *(Edit(f"border_black_{p}", "border", _border(p / 100)) for p in (5, 10, 20)),
    Edit("border_white_10", "border", _border(0.10, (255, 255, 255))),
    Edit("border_colour_10", "border", _border(0.10, (180, 40, 60))),
    Edit("border_noisy_10", "border", _border(0.10, (60, 60, 60), noise=20)),
    Edit("letterbox_10", "border", _border(0.10, sides="tb")),
    Edit("pillarbox_10", "border", _border(0.10, sides="lr")),
    *(Edit(f"crop_centre_{p}", "crop", _crop(*(p / 100,) * 4)) for p in (5, 10, 20)),
    *(Edit(f"crop_offcentre_{p}", "crop", _crop(p / 100, p / 100, 0, 0)) for p in (5, 10, 20)),
    Edit("crop_one_side_10", "crop", _crop(0.10, 0, 0, 0)),
    Edit("mirror_crop_centre_15", "mirrored crop", _chain(_MIRROR, _crop(*(0.15,) * 4))),
    Edit("mirror_crop_offcentre_15", "mirrored crop", _chain(_MIRROR, _crop(0.15, 0.15, 0, 0))),
    Edit("stretch_wide_20", "stretch", _stretch(1.2, 1.0)),
    Edit("stretch_tall_20", "stretch", _stretch(1.0, 1.2)),
    Edit("screenshot", "screenshot", _resize(1.5), quality=80),
    Edit("mirror_jpeg50", "combination", _MIRROR, quality=50),
    Edit(
        "rotate_90_half_size",
        "combination",
        _chain(lambda im: im.transpose(Image.Transpose.ROTATE_90), _resize(0.5)),
    ),
    Edit("border_10_jpeg70", "combination", _border(0.10), quality=70),
    Edit("border_10_mirror", "combination", _chain(_MIRROR, _border(0.10))),
    Edit(
        "greyscale_mirror_half",
        "combination",
        _chain(ImageOps.grayscale, lambda im: im.convert("RGB"), _MIRROR, _resize(0.5)),
    ),
)

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(e.family for e in CATALOGUE))


def deliver(im: Image.Image, edit: Edit) -> bytes:
    """The edited image as the JPEG file a platform would receive."""
    out = edit.apply(im.convert("RGB"))
    buf = io.BytesIO()
    out.convert("RGB").save(buf, format="JPEG", quality=edit.quality)
    return buf.getvalue()


def by_name(names: list[str] | None) -> tuple[Edit, ...]:
    if not names:
        return CATALOGUE
    known = {e.name: e for e in CATALOGUE}
    unknown = [n for n in names if n not in known and n not in FAMILIES]
    if unknown:
        raise KeyError(unknown[0])
    return tuple(e for e in CATALOGUE if e.name in names or e.family in names)
