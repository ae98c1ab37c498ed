"""Local-features benchmark: what matching crops costs as a bank grows, against plain PDQ.

Banks the local features of half the COCO photos in ../shared (every other one), plus
distractors up to each `--sizes` total: 256 keypoints at random positions, each descriptor
taking every byte from one of two descriptors drawn from the photos (realistic bit
statistics, no near-copy of a real one), so they agree on no geometry. Queries: 10% centred
and off-centre crops of the banked photos, and the never-banked photos. For each size, in
the same run:

- `LocalFeatureIndex`: build seconds, lookups/s (one thread, descriptors already extracted),
  crop recall, false matches (a never-banked photo matching anything, or a crop matching
  anything but its own photo), bytes held per image;
- `WordIndex` (index/words.py, issue #21: visual words and an inverted file, verified as
  today's index verifies), the same measures, with its default vocabulary (trained on
  synthetic scenes, never on these photos; `--vocabulary FILE` for another);
- the named baseline: plain PDQ (`MihPdqIndex`) over the same number of hashes, lookups/s
  of the same queries' PDQ hashes at distance 31.

Today's index is measured up to `--features-max` images (its lookups slow down linearly).

Prints one JSON object.

    python bench/local_features.py --sizes 1000,10000,50000
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from safeguard.index import LocalFeatureIndex, index_for  # noqa: E402
from safeguard.index.vocabulary import Vocabulary  # noqa: E402
from safeguard.index.words import WordIndex  # noqa: E402
from safeguard.signals import local  # noqa: E402
from safeguard.signals.images import decode_rgb  # noqa: E402
from safeguard.signals.pdq import pdq_from_rgb  # noqa: E402

PHOTOS = REPO.parent / "shared" / "datasets" / "images" / "coco"


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _signals(data: bytes) -> tuple[str, str | None]:
    pixels = decode_rgb(data, 10**8)
    return pdq_from_rgb(pixels)[0], local.extract(pixels)


def _crop(im: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = im.size
    return im.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--features-max", type=int, default=20_000)
    ap.add_argument("--vocabulary", type=Path, help="a vocabulary file (default: the default)")
    args = ap.parse_args()
    vocabulary = Vocabulary.load(args.vocabulary) if args.vocabulary else Vocabulary.default()
    rng = np.random.default_rng(args.seed)
    paths = sorted(PHOTOS.rglob("*.jpg"))
    listed, unlisted = paths[0::2], paths[1::2]
    bank: list[tuple[str, str]] = []  # (pdq, local) of each banked photo
    queries: list[tuple[int | None, str, str]] = []  # (own index or None, pdq, local)
    for i, p in enumerate(listed):
        with Image.open(p) as im:
            im = im.convert("RGB")
            pdq, feats = _signals(_jpeg(im))
            assert feats is not None
            bank.append((pdq, feats))
            for crop in ((0.1, 0.1, 0.1, 0.1), (0.1, 0.1, 0, 0)):
                q = _signals(_jpeg(_crop(im, *crop)))
                if q[1] is not None:
                    queries.append((i, *q))  # type: ignore[arg-type]
    for p in unlisted:
        q = _signals(p.read_bytes())
        if q[1] is not None:
            queries.append((None, *q))  # type: ignore[arg-type]
    pool = np.concatenate([local.decode(v)[1] for _, v in bank])
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        values = [v for _, v in bank]
        for _ in range(size - len(bank)):
            # each byte from one of two random descriptors: realistic bit statistics,
            # but no near-copy of any photo's descriptor
            a, b = (pool[rng.integers(0, len(pool), local.FEATURES)] for _ in range(2))
            desc = np.where(rng.random(a.shape) < 0.5, a, b)
            pts = rng.uniform((0, 0), (512, 384), (local.FEATURES, 2))
            values.append(local.encode(pts, desc))
        measured = {}
        makers = {"words": lambda: WordIndex(vocabulary)}
        if size <= args.features_max:
            makers["features"] = LocalFeatureIndex
        for name, make in makers.items():
            start = time.perf_counter()
            index = make()
            index.add(enumerate(values))
            index.query_many([queries[0][2]], local.MAX_DISTANCE)  # builds the faiss index
            build = time.perf_counter() - start
            start = time.perf_counter()
            found = index.query_many([q[2] for q in queries], local.MAX_DISTANCE)
            took = time.perf_counter() - start
            crops = [(q, f) for q, f in zip(queries, found, strict=True) if q[0] is not None]
            recall = sum(any(e == q[0] for e, _ in f) for q, f in crops) / len(crops)
            false = sum(any(e != q[0] for e, _ in f) for q, f in zip(queries, found, strict=True))
            if isinstance(index, WordIndex):
                per_image = index.nbytes() / size
            else:  # descriptors in faiss, their ids, the points
                per_image = sum(len(local.decode(v)[1]) for v in values[:200]) / 200 * 48
            measured[name] = {
                "build_s": round(build, 2),
                "lookups_per_s": round(len(queries) / took, 1),
                "crop_recall": round(recall, 4),
                "false_matches": false,
                "bytes_per_image": round(per_image),
            }
            del index
        hashes = [h for h, _ in bank] + [
            bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(size - len(bank))
        ]
        pdq_index = index_for("pdq", list(range(size)), hashes)
        start = time.perf_counter()
        pdq_index.query_many([q[1] for q in queries] * 20, 31)
        pdq_s = (time.perf_counter() - start) / 20
        per_image = sum(len(local.decode(v)[1]) for v in values[:200]) / 200 * (32 + 8 + 8)
        words = measured["words"]["lookups_per_s"]
        results.append(
            {
                "size": size,
                "queries": len(queries),
                **{f"{k}_{n}": v for k, m in measured.items() for n, v in m.items()},
                "pdq_lookups_per_s": round(len(queries) / pdq_s, 1),
                "words_ratio_to_pdq": round(words * pdq_s / len(queries), 4),
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"baseline": "plain PDQ (MihPdqIndex), same size", "results": results}))


if __name__ == "__main__":
    main()
