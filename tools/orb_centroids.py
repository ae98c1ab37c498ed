"""Train the coarse quantizer of the local-features index (index/local.py) and write it to
src/safeguard/index/data/orb-centroids.npy.

The index files each stored ORB descriptor under the nearest of `LISTS` binary centroids
and a lookup reads only the lists nearest each query descriptor. The centroids describe
what ORB descriptors look like in general, not any bank: they are trained once, here, on
the descriptors of the benign COCO train2017 photos in ../shared (val2017 is left out), and
shipped, so every process and replica files descriptors the same way and never retrains.
Each photo is also seen at 0.7x and 1.4x and turned 15 degrees, as copies are, which gives
about 130,000 descriptors: enough for 2,048 lists (faiss asks for 39 points per list).

    python tools/orb_centroids.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import faiss
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from safeguard.signals import local  # noqa: E402

LISTS = 2048
PHOTOS = REPO.parent / "shared" / "datasets" / "images" / "coco" / "train2017"
OUT = REPO / "src" / "safeguard" / "index" / "data" / "orb-centroids.npy"


def main() -> None:
    descriptors = []
    for p in sorted(PHOTOS.glob("*.jpg")):
        with Image.open(p) as im:
            im = im.convert("RGB")
            w, h = im.size
            seen = (
                im,
                im.resize((w * 7 // 10, h * 7 // 10)),
                im.rotate(15, expand=True),
                im.resize((w * 14 // 10, h * 14 // 10)),
            )
            for variant in seen:
                value = local.extract(np.asarray(variant))
                if value is not None:
                    descriptors.append(local.decode(value)[1])
    data = np.ascontiguousarray(np.concatenate(descriptors))
    ivf = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(256), 256, LISTS)
    ivf.cp.seed = 20261130
    ivf.train(data)
    centroids = ivf.quantizer.reconstruct_n(0, LISTS)
    np.save(OUT, centroids)
    print(f"{len(descriptors)} images, {len(data):,} descriptors -> {LISTS} centroids: {OUT}")


if __name__ == "__main__":
    main()
