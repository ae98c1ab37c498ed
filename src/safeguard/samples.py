"""Benign synthetic photos for the demo and the tests, made on the spot from a seed.

safeguard must show and test matching without shipping or fetching anyone's pictures: each
sample is an abstract scene (a textured gradient ground, overlapping shapes with their own
textures, a little sensor noise) drawn by numpy and Pillow from its seed alone. Scenes are
distinct to PDQ (pairwise distances far above any threshold), rich in the corners that local
features need, and the same on every machine for the same seed and size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

#: the size of a sample unless asked otherwise (a typical phone upload, scaled down)
SIZE = (640, 480)


def _value_noise(rng: np.random.Generator, width: int, height: int, octaves: int) -> np.ndarray:
    """Smooth multi-scale noise in [0, 1], HxW: random grids upsampled and summed."""
    total = np.zeros((height, width), dtype=np.float32)
    weight = 0.0
    for octave in range(octaves):
        cells = 2 ** (octave + 2)
        grid = rng.random((cells, cells), dtype=np.float32)
        layer = Image.fromarray(grid, mode="F").resize((width, height), Image.Resampling.BICUBIC)
        amplitude = 0.55**octave
        total += amplitude * np.asarray(layer, dtype=np.float32)
        weight += amplitude
    total /= weight
    return (total - total.min()) / max(float(np.ptp(total)), 1e-6)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(0, 256, 3))
    return (r, g, b)


def scene(seed: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """The sample photo for `seed`: an RGB image of `size` (width, height)."""
    rng = np.random.default_rng([0x5AFE, seed])
    width, height = size
    ground = _value_noise(rng, width, height, octaves=6)[..., None]
    low, high = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    picture = Image.fromarray((low + ground * (high - low)).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    for _ in range(int(rng.integers(14, 26))):
        cx, cy = rng.integers(0, width), rng.integers(0, height)
        w, h = rng.integers(width // 20, width // 3), rng.integers(height // 20, height // 3)
        box = (int(cx - w // 2), int(cy - h // 2), int(cx + w // 2), int(cy + h // 2))
        kind = rng.integers(0, 4)
        fill, edge = _colour(rng), _colour(rng)
        if kind == 0:
            draw.ellipse(box, fill=fill, outline=edge, width=int(rng.integers(1, 5)))
        elif kind == 1:
            draw.rectangle(box, fill=fill, outline=edge, width=int(rng.integers(1, 5)))
        elif kind == 2:
            corners = int(rng.integers(3, 8))
            angles = np.sort(rng.random(corners)) * 2 * np.pi
            radii = rng.uniform(0.4, 1.0, corners)
            points = [
                (float(cx + r * w / 2 * np.cos(a)), float(cy + r * h / 2 * np.sin(a)))
                for a, r in zip(angles, radii, strict=True)
            ]
            draw.polygon(points, fill=fill, outline=edge)
        else:
            ends = rng.integers(0, [width, height, width, height])
            draw.line([int(v) for v in ends], fill=fill, width=int(rng.integers(2, 12)))
    texture = _value_noise(rng, width, height, octaves=7)[..., None] - 0.5
    grain = rng.normal(0.0, 6.0, (height, width, 1)).astype(np.float32)
    pixels = np.asarray(picture, dtype=np.float32) * (1 + 0.35 * texture) + grain
    blurred = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    return blurred.filter(ImageFilter.GaussianBlur(0.6))


def write_scenes(
    folder: str | Path,
    count: int,
    *,
    first_seed: int = 0,
    size: tuple[int, int] = SIZE,
    on_each: Callable[[], object] | None = None,
) -> list[Path]:
    """Write `count` sample photos as JPEGs (quality 92) named by seed, calling `on_each` after
    each; returns their paths. A photo already there is kept (it would be the same)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(first_seed, first_seed + count):
        path = folder / f"scene-{seed:05d}.jpg"
        if not path.exists():
            scene(seed, size).save(path, "JPEG", quality=92)
        paths.append(path)
        if on_each is not None:
            on_each()
    return paths


__all__ = ["SIZE", "scene", "write_scenes"]
