"""Local-features benchmark: what matching crops costs as a bank grows, against plain PDQ.

Banks the local features of half the COCO photos in ../shared (every other one), plus
distractors up to each `--sizes` total: 256 keypoints at random positions, each descriptor
taking every byte from one of two descriptors drawn from the photos (realistic bit
statistics, no near-copy of a real one), so they agree on no geometry. Queries: 10% centred
and off-centre crops of the banked photos, and the never-banked photos. For each size, in
the same run:

- `LocalFeatureIndex`: build seconds, lookups/s (one thread, faiss's too; descriptors
  already extracted), crop recall, false matches (a never-banked photo matching anything,
  or a crop matching anything but its own photo), bytes held per image;
- `WordIndex` (index/words.py, issue #21: visual words and an inverted file, verified as
  today's index verifies), the same measures, with its default vocabulary (trained on
  synthetic scenes, never on these photos; `--vocabulary FILE` for another);
- up to `--alternatives-max` images, the other ways issue #21 named of indexing the
  descriptors, each inside today's index (same neighbours, votes and RANSAC): a faiss
  binary inverted file of 32,768 lists (`ivf32k`) and a binary HNSW graph (`hnsw`);
- the named baseline: plain PDQ (`MihPdqIndex`) over the same number of hashes, lookups/s
  of the same queries' PDQ hashes at distance 31.

Crop recall is also given per COCO set: the word index's stop list (`words.STOP_FACTOR`) was
chosen on the train2017 photos only (`--stop-factors 2,3,4,6,8,0` measures the word index
again at each factor, 0 for none, on the same built index); val2017 is held out.

Today's index is measured up to `--features-max` images (its lookups slow down linearly).
Sizes above `--stream-from` are built without value strings (which would not fit in memory
at a million): the word index is written as the arrays a snapshot holds, in `--scratch`
(about 10 KB an image on disk), and memory-mapped; each distractor is listed under 256
words drawn from the frequencies of the distractors' own words (filing 256 million
descriptors would take most of an hour), so its cost per lookup is realistic, not its
words' geometry. `bytes_held_per_image` counts memory a process holds; `..._mapped_...`
what it maps (shared by every process of a host, read from disk as touched). For those
sizes the word index is also measured with its keypoints and descriptors evicted from the
page cache (`words_keypoints_evicted`: a host that keeps only the inverted file in memory)
and with every file evicted (`words_cold`: the first lookups after a start).

Prints one JSON object.

    python bench/local_features.py --sizes 1000,20000,100000,1000000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from safeguard.index import LocalFeatureIndex, index_for  # noqa: E402
from safeguard.index import words as words_index  # noqa: E402
from safeguard.index.vocabulary import Vocabulary  # noqa: E402
from safeguard.index.words import ARRAYS, WordIndex, words_of  # noqa: E402
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


def _distractor(pool: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points and descriptors of a distractor: each descriptor byte from one of two random
    real descriptors (realistic bit statistics, no near-copy of any photo's descriptor)."""
    a, b = (pool[rng.integers(0, len(pool), local.FEATURES)] for _ in range(2))
    desc = np.where(rng.random(a.shape) < 0.5, a, b)
    return rng.uniform((0, 0), (512, 384), (local.FEATURES, 2)), desc


#: other indexes of the descriptors (issue #21's alternatives), measured up to
#: --alternatives-max: today's index with another faiss index in it
ALTERNATIVES = ("ivf32k", "hnsw")
HNSW_M, HNSW_EF, IVF_PROBES = 16, 64, 16
#: bytes held per keypoint: descriptor, faiss id, point (and HNSW's links at level 0)
_KEYPOINT_BYTES = {"features": 48, "ivf32k": 48, "hnsw": 48 + 4 * 2 * HNSW_M}


def _alternative(kind: str, values: list[str], vocabulary: Vocabulary) -> LocalFeatureIndex:
    """Today's index (same neighbours, votes and RANSAC) over another faiss index: `ivf32k`,
    an inverted file of 32,768 lists (the vocabulary's middle level as centroids: trained on
    no banked image), 16 probed; `hnsw`, a binary HNSW graph (M 16, efSearch 64)."""
    index = LocalFeatureIndex()
    if kind == "hnsw":
        graph = faiss.IndexBinaryHNSW(256, HNSW_M)
        graph.hnsw.efSearch = HNSW_EF
        index._faiss = faiss.IndexBinaryIDMap(graph)
        index._quantizer = graph  # kept alive beside the map
    else:
        quantizer = faiss.IndexBinaryFlat(256)
        quantizer.add(np.ascontiguousarray(vocabulary.middle.reshape(-1, 32)))
        ivf = faiss.IndexBinaryIVF(quantizer, 256, quantizer.ntotal)
        ivf.is_trained = True
        ivf.nprobe = IVF_PROBES
        index._faiss, index._quantizer = ivf, quantizer
    index.add(enumerate(values))
    return index


def _features_index(values: list[str]) -> LocalFeatureIndex:
    index = LocalFeatureIndex()
    index.add(enumerate(values))
    return index


def _measure(index, queries: list, build: float, size: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # lookups on one core (builds use them all)
    try:
        start = time.perf_counter()
        found = index.query_many([q[2] for q in queries], local.MAX_DISTANCE)
        took = time.perf_counter() - start
    finally:
        faiss.omp_set_num_threads(threads)
    crops = [(q, f) for q, f in zip(queries, found, strict=True) if q[0] is not None]

    def recall(of: list) -> float:  # type: ignore[type-arg]
        return round(sum(any(e == q[0] for e, _ in f) for q, f in of) / len(of), 4)

    out: dict[str, object] = {
        "build_s": round(build, 2),
        "lookups_per_s": round(len(queries) / took, 1),
        "crop_recall": recall(crops),
        **{
            f"crop_recall_{s}": recall([(q, f) for q, f in crops if q[3] == s])
            for s in sorted({q[3] for q, _ in crops})
        },
        "false_matches": sum(
            any(e != q[0] for e, _ in f) for q, f in zip(queries, found, strict=True)
        ),
    }
    if isinstance(index, WordIndex):
        out["bytes_held_per_image"] = round(index.nbytes() / size)
        base = index._base
        mapped = sum(
            getattr(base, n).nbytes for n in ARRAYS if isinstance(getattr(base, n), np.memmap)
        )
        out["bytes_mapped_per_image"] = round(mapped / size)
    return out


def _sweep(index: WordIndex, queries: list, size: int, factors: list[float]) -> dict:  # type: ignore[type-arg]
    """The word index measured again with each stop factor (0: no stop list)."""
    default, out = words_index.STOP_FACTOR, {}
    try:
        for f in factors:
            words_index.STOP_FACTOR = f if f > 0 else float("inf")  # type: ignore[assignment]
            m = _measure(index, queries, 0.0, size)
            out[f"words_stop{f:g}"] = {k: v for k, v in m.items() if "bytes" not in k}
            out[f"words_stop{f:g}"].pop("build_s")
    finally:
        words_index.STOP_FACTOR = default
    return out


def _evict(scratch: Path, names: tuple[str, ...]) -> None:
    """Drop these arrays' files from the page cache (written out first; nothing maps them)."""
    for name in names:
        fd = os.open(scratch / f"b.{name}.npy", os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _word_frequencies(
    vocabulary: Vocabulary, pool: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """How often each word is a distractor's, from 2,000 distractors (for the streamed sizes)."""
    words = np.concatenate(
        [np.unique(vocabulary.words(_distractor(pool, rng)[1])) for _ in range(2000)]
    )
    counts = np.bincount(words, minlength=vocabulary.size).astype(np.float64) + 0.01
    return counts / counts.sum()


def _streamed(
    vocabulary: Vocabulary,
    bank: list[tuple[str, str]],
    size: int,
    pool: np.ndarray,
    frequencies: np.ndarray,
    rng: np.random.Generator,
    scratch: Path,
) -> WordIndex:
    """A word index of the banked photos and `size` - len(bank) distractors, built as the
    arrays a snapshot holds (keypoints and descriptors on disk) and memory-mapped. Each
    distractor is listed under 256 words drawn from `frequencies` (assigning 256 million
    descriptors their words would take a quarter of an hour)."""
    real = WordIndex.build(enumerate(v for _, v in bank), vocabulary).freeze()
    n, rows = size, int(real.starts[-1]) + (size - len(bank)) * local.FEATURES
    points = np.lib.format.open_memmap(scratch / "b.points.npy", "w+", np.float16, (rows, 2))
    descs = np.lib.format.open_memmap(scratch / "b.descriptors.npy", "w+", np.uint8, (rows, 32))
    points[: real.starts[-1]] = np.concatenate(real.points)
    descs[: real.starts[-1]] = np.concatenate(real.descriptors)
    pair_words = [words_of(real.offsets)]
    pair_copies = [real.postings]
    cumulative = np.cumsum(frequencies)
    at, copy = int(real.starts[-1]), len(bank)
    while copy < n:
        chunk = min(10_000, n - copy)
        drawn = np.searchsorted(cumulative, rng.random((chunk, local.FEATURES)))
        drawn = np.minimum(drawn, vocabulary.size - 1).astype(np.int64)
        owners = np.repeat(np.arange(copy, copy + chunk, dtype=np.int64), local.FEATURES)
        pairs = np.unique(owners * vocabulary.size + drawn.ravel())
        pair_words.append((pairs % vocabulary.size).astype(np.int32))
        pair_copies.append((pairs // vocabulary.size).astype(np.uint32))
        for _ in range(chunk):
            pts, desc = _distractor(pool, rng)
            points[at : at + local.FEATURES], descs[at : at + local.FEATURES] = pts, desc
            at += local.FEATURES
        copy += chunk
    all_words = np.concatenate(pair_words)
    order = np.argsort(all_words, kind="stable")
    offsets = np.concatenate(([0], np.cumsum(np.bincount(all_words, minlength=vocabulary.size))))
    postings = np.concatenate(pair_copies)[order]
    del all_words, order, pair_words, pair_copies
    points.flush(), descs.flush()
    keys = np.zeros((n, 16), dtype=np.uint8)
    keys[:, :8] = np.arange(n, dtype=np.uint64)[:, None].view(np.uint8)
    starts = np.concatenate(
        [real.starts, real.starts[-1] + local.FEATURES * np.arange(1, n - len(bank) + 1)]
    )
    for name, array in {
        "offsets": offsets,
        "postings": postings,
        "starts": starts,
        "keys": keys,
        "alive": np.ones(n, dtype=bool),
        "entry_ids": np.arange(n, dtype=np.int64),
        "entry_copies": np.arange(n, dtype=np.int64),
    }.items():
        np.save(scratch / f"b.{name}.npy", array, allow_pickle=False)
    del offsets, postings
    (scratch / "b.vocabulary").write_text(vocabulary.digest)
    return WordIndex.open(scratch, "b", vocabulary)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--features-max", type=int, default=100_000)
    ap.add_argument(
        "--alternatives-max",
        type=int,
        default=20_000,
        help=f"measure the other descriptor indexes ({', '.join(ALTERNATIVES)}) up to this size",
    )
    ap.add_argument(
        "--stop-factors",
        default="",
        help="comma-separated STOP_FACTOR values (0: no stop list) to measure the word index "
        "at, beside its default",
    )
    ap.add_argument("--vocabulary", type=Path, help="a vocabulary file (default: the default)")
    ap.add_argument(
        "--stream-from",
        type=int,
        default=200_000,
        help="larger sizes: the word index written as arrays in --scratch and memory-mapped, "
        "distractors' words drawn from the distractor words' frequencies",
    )
    ap.add_argument("--scratch", help="folder for the streamed index (default: the temp folder)")
    args = ap.parse_args()
    vocabulary = Vocabulary.load(args.vocabulary) if args.vocabulary else Vocabulary.default()
    rng = np.random.default_rng(args.seed)
    factors = [float(f) for f in args.stop_factors.split(",") if f.strip()]
    paths = sorted(PHOTOS.rglob("*.jpg"))
    listed, unlisted = paths[0::2], paths[1::2]
    bank: list[tuple[str, str]] = []  # (pdq, local) of each banked photo
    queries: list[tuple[int | None, str, str, str]] = []  # (own index or None, pdq, local, set)
    for i, p in enumerate(listed):
        with Image.open(p) as im:
            im = im.convert("RGB")
            pdq, feats = _signals(_jpeg(im))
            assert feats is not None
            bank.append((pdq, feats))
            for crop in ((0.1, 0.1, 0.1, 0.1), (0.1, 0.1, 0, 0)):
                q = _signals(_jpeg(_crop(im, *crop)))
                if q[1] is not None:
                    queries.append((i, *q, p.parent.name))  # type: ignore[arg-type]
    for p in unlisted:
        q = _signals(p.read_bytes())
        if q[1] is not None:
            queries.append((None, *q, p.parent.name))  # type: ignore[arg-type]
    pool = np.concatenate([local.decode(v)[1] for _, v in bank])
    results = []
    frequencies = _word_frequencies(vocabulary, pool, rng)
    for size in (int(s) for s in args.sizes.split(",")):
        measured = {}
        if size > args.stream_from:
            # streamed: no value strings, the index written as arrays and memory-mapped
            with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
                start = time.perf_counter()
                index = _streamed(vocabulary, bank, size, pool, frequencies, rng, Path(scratch))
                build = time.perf_counter() - start
                measured["words"] = _measure(index, queries, build, size)
                measured.update(_sweep(index, queries, size, factors))
                del index
                # what a host answers with only the inverted file in its page cache, then
                # with nothing cached (a start)
                for name, files in (
                    ("keypoints_evicted", ("points", "descriptors")),
                    ("cold", ARRAYS),
                ):
                    _evict(Path(scratch), files)
                    index = WordIndex.open(Path(scratch), "b", vocabulary)
                    m = _measure(index, queries, 0.0, size)
                    measured[f"words_{name}"] = {
                        k: v
                        for k, v in m.items()
                        if k in ("lookups_per_s", "crop_recall", "false_matches")
                    }
                    del index
        else:
            values = [v for _, v in bank]
            for _ in range(size - len(bank)):
                pts, desc = _distractor(pool, rng)
                values.append(local.encode(pts, desc))
            makers = {"words": lambda v: WordIndex.build(enumerate(v), vocabulary)}
            if size <= args.features_max:
                makers["features"] = _features_index
            if size <= args.alternatives_max:
                for kind in ALTERNATIVES:
                    makers[kind] = lambda v, kind=kind: _alternative(kind, v, vocabulary)
            for name, make in makers.items():
                start = time.perf_counter()
                index = make(values)
                index.query_many([queries[0][2]], local.MAX_DISTANCE)  # builds the faiss index
                measured[name] = _measure(index, queries, time.perf_counter() - start, size)
                if name == "words":
                    measured.update(_sweep(index, queries, size, factors))
                if name in ("features", *ALTERNATIVES):  # descriptors, ids, links, points
                    per = sum(len(local.decode(v)[1]) for v in values[:200]) / 200
                    measured[name]["bytes_held_per_image"] = round(per * _KEYPOINT_BYTES[name])
                del index
            del values
        hashes = [h for h, _ in bank] + [
            bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(size - len(bank))
        ]
        pdq_index = index_for("pdq", list(range(size)), hashes)
        start = time.perf_counter()
        pdq_index.query_many([q[1] for q in queries] * 20, 31)
        pdq_s = (time.perf_counter() - start) / 20
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
