"""What a reviewer sees of preserved media: a small PNG, blurred and greyscale by default
(wellness defaults, docs/ui.md), or the one item they chose to reveal, in colour and sharp.

Decoding goes through the same guarded decoder as hashing (pixel limit, decode memory), so
a hostile file in evidence cannot take the server down; what cannot be shown is a
FileProblem naming why.
"""

from __future__ import annotations

import io

from PIL import Image, ImageFilter

from safeguard.config import Settings
from safeguard.signals.images import decode_rgb

#: the longest side of a preview, in pixels
PREVIEW_SIDE = 480


def render(
    data: bytes, settings: Settings, *, blur: int, greyscale: bool, side: int = PREVIEW_SIDE
) -> bytes:
    """A PNG of the image in `data`, at most `side` pixels on its longest side, blurred
    with a Gaussian of radius `blur` (a share of the preview's size: 0 is sharp, 40 is
    shapes only) and greyscale when asked."""
    pixels = decode_rgb(data, settings.max_image_pixels, settings.decode)
    im = Image.fromarray(pixels)
    im.thumbnail((side, side))
    if greyscale:
        im = im.convert("L")
    if blur > 0:
        im = im.filter(ImageFilter.GaussianBlur(radius=max(im.size) * blur / 400))
    out = io.BytesIO()
    im.save(out, "PNG", optimize=False)
    return out.getvalue()
