"""Train the coarse quantizer of the local-features index (index/local.py) and write it to
src/safeguard/index/data/orb-centroids.npy.

The index files each stored ORB descriptor under the nearest of `LISTS` binary centroids
and a lookup reads only the lists nearest each query descriptor. The centroids describe
what ORB descriptors look like in general, not any bank: they are trained once, here, on
the descriptors of the benign COCO train2017 photos in ../shared (val2017 is left out), and
shipped, so every process and replica files descriptors the same way and never retrains.

    python tools/orb_centroids.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import faiss
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from safeguard.signals import local  # noqa: E402
from safeguard.signals.images import decode_rgb  # noqa: E402

LISTS = 512
PHOTOS = REPO.parent / "shared" / "datasets" / "images" / "coco" / "train2017"
OUT = REPO / "src" / "safeguard" / "index" / "data" / "orb-centroids.npy"


def main() -> None:
    descriptors = []
    for p in sorted(PHOTOS.glob("*.jpg")):
        value = local.extract(decode_rgb(p.read_bytes(), 10**8))
        if value is not None:
            descriptors.append(local.decode(value)[1])
    data = np.ascontiguousarray(np.concatenate(descriptors))
    ivf = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(256), 256, LISTS)
    ivf.cp.seed = 20261130
    ivf.train(data)
    centroids = ivf.quantizer.reconstruct_n(0, LISTS)
    np.save(OUT, centroids)
    print(f"{len(descriptors)} photos, {len(data):,} descriptors -> {LISTS} centroids: {OUT}")


if __name__ == "__main__":
    main()
