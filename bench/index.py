"""PDQ index benchmark: safeguard's MIH index against python-threatexchange's PDQIndex.

Both indexes are built from the same hex hashes and answer the same queries at distance 31,
each in its own process (so resident memory is its own), in the same run. Prints one JSON
object. Measured per index: build time; resident memory after the build (steady) and the
process peak, both above the memory the data itself took; single-thread queries/s through
the public query call; queries/s with one thread per core; snapshot size and load time;
incremental add latency (and removal for ours; PDQIndex has none). Recall (and exactness:
nothing beyond the threshold) is checked against a brute-force scan on a sample of queries.

Data (`--data`):
  random      uniform 256-bit hashes
  clustered   families of near-duplicates (a centre and members 0-16 bits from it), as real
              hash lists hold re-encodes and crops of one image
  lowentropy  random hashes, 5% of them with few bits set (about 4%), like the hashes of
              flat and near-flat images that real lists contain
  photos      PDQ hashes of the COCO photos in ../shared and edited copies of them, planted
              in a random background
Queries: half are stored hashes with 0-31 bits flipped (true matches), half fresh hashes
drawn like the data.

    python bench/index.py --size 1000000 --queries 2000 --json
    python bench/index.py --size 10000000 --data clustered --json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

RADIUS = 31
REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "datasets" / "images" / "coco"


# -- data ------------------------------------------------------------------------------


def _random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64, endpoint=False)


def _flip(rng: np.random.Generator, words: np.ndarray, max_bits: int) -> np.ndarray:
    """Each row with 0..max_bits random bits flipped."""
    out = words.copy()
    counts = rng.integers(0, max_bits + 1, size=len(words))
    for k in range(1, max_bits + 1):
        rows = np.flatnonzero(counts >= k)
        bits = rng.integers(0, 256, size=len(rows))
        out[rows, bits // 64] ^= np.uint64(1) << (bits % 64).astype(np.uint64)
    return out


def _low_entropy(rng: np.random.Generator, n: int, share: float = 0.05) -> np.ndarray:
    """Random hashes with `share` of them low-entropy (about 4% of bits set). Such hashes
    are all within distance ~20 of each other, so each low-entropy query truly matches
    every low-entropy row: a list made only of them would be one giant match set."""
    out = _random_words(rng, n)
    k = int(n * share)
    bits = rng.random((k, 256)) < 0.04
    out[rng.choice(n, size=k, replace=False)] = np.packbits(bits, axis=1).view(">u8")
    return out


def _photo_hashes() -> np.ndarray:
    from PIL import Image, ImageFilter

    from safeguard.signals.files import hash_bytes

    cache = REPO / "bench" / "out" / "photo_pdq.npy"
    if cache.exists():
        return np.load(cache)
    import io

    hexes = []
    for p in sorted(PHOTOS.rglob("*.jpg")):
        im = Image.open(p).convert("RGB")
        variants = [
            im,
            im.resize((im.width // 2, im.height // 2)),
            im.filter(ImageFilter.GaussianBlur(2)),
            im.crop((im.width // 20, im.height // 20, im.width * 19 // 20, im.height * 19 // 20)),
        ]
        for v in variants:
            buf = io.BytesIO()
            v.save(buf, "JPEG", quality=60)
            hexes.append(hash_bytes(buf.getvalue()).pdq)
    words = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=">u8").astype(np.uint64)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, words.reshape(-1, 4))
    return words.reshape(-1, 4)


def make_data(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "random":
        return _random_words(rng, n)
    if kind == "clustered":
        centres = _random_words(rng, max(1, n // 20))
        members = centres[rng.integers(0, len(centres), size=n)]
        return _flip(rng, members, 16)
    if kind == "lowentropy":
        return _low_entropy(rng, n)
    if kind == "photos":
        photos = _photo_hashes()
        background = _random_words(rng, max(0, n - len(photos)))
        return np.concatenate([photos[:n], background])
    raise SystemExit(f"unknown --data {kind!r}")


def make_queries(kind: str, data: np.ndarray, q: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    near = _flip(rng, data[rng.integers(0, len(data), size=q // 2)], RADIUS)
    fresh = make_data(kind if kind != "photos" else "random", q - q // 2, seed + 2)
    out = np.concatenate([near, fresh])
    return out[rng.permutation(len(out))]


def to_hex(words: np.ndarray) -> list[str]:
    raw = np.ascontiguousarray(words).astype(">u8").tobytes().hex()
    return [raw[i : i + 64] for i in range(0, len(raw), 64)]


def brute_force(data: np.ndarray, queries: np.ndarray) -> list[list[int]]:
    out = []
    for q in queries:
        hits = []
        for start in range(0, len(data), 1_000_000):
            d = np.bitwise_count(data[start : start + 1_000_000] ^ q).sum(axis=1)
            hits.extend((np.flatnonzero(d <= RADIUS) + start).tolist())
        out.append(sorted(hits))
    return out


# -- measuring one index in its own process ----------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Ours:
    name = "safeguard MihPdqIndex"

    def build(self, hexes: list[str]) -> None:
        from safeguard.index.mih import MihPdqIndex

        self.index = MihPdqIndex.build(enumerate(hexes))

    def query(self, h: str) -> list[int]:
        return [entry for entry, _ in self.index.query(h, RADIUS)]

    def save(self, path: str) -> int:
        return self.index.save(path)

    def load(self, path: str) -> None:
        from safeguard.index.mih import MihPdqIndex

        self.index = MihPdqIndex.load(path)

    def add(self, entry: int, h: str) -> None:
        self.index.add([(entry, h)])

    def remove(self, entry: int) -> None:
        self.index.remove([entry])


class Baseline:
    name = "python-threatexchange PDQIndex (faiss multi-hash, 16x16 bits)"

    def build(self, hexes: list[str]) -> None:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex

        self.index = PDQIndex.build((h, i) for i, h in enumerate(hexes))

    def query(self, h: str) -> list[int]:
        return [m.metadata for m in self.index.query(h)]

    def save(self, path: str) -> int:
        with open(path, "wb") as fh:
            self.index.serialize(fh)
        return Path(path).stat().st_size

    def load(self, path: str) -> None:
        with open(path, "rb") as fh:
            self.index = pickle.load(fh)

    def add(self, entry: int, h: str) -> None:
        self.index.add(h, entry)

    remove = None


def _set_library_threads(n: int) -> None:
    """faiss (under PDQIndex) parallelises searches with OpenMP; pin it for fair timing."""
    try:
        import faiss

        faiss.omp_set_num_threads(n)
    except ImportError:
        pass


def measure(which: str, args: argparse.Namespace) -> dict[str, object]:
    impl = Ours() if which == "ours" else Baseline()
    data = make_data(args.data, args.size, args.seed)
    hexes = to_hex(data)
    queries = to_hex(make_queries(args.data, data, args.queries, args.seed))
    del data
    gc.collect()
    base = rss_mb()
    t = time.perf_counter()
    impl.build(hexes)
    build_s = time.perf_counter() - t
    gc.collect()
    steady = rss_mb() - base
    results = {}
    _set_library_threads(1)  # single-thread means single-thread, inside faiss too
    t = time.perf_counter()
    for i, h in enumerate(queries):
        found = impl.query(h)
        if i < args.sample:
            results[i] = sorted(found)
    single = len(queries) / (time.perf_counter() - t)
    threads = os.cpu_count() or 1
    _set_library_threads(threads)
    chunks = [queries[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        t = time.perf_counter()
        list(pool.map(lambda chunk: [impl.query(h) for h in chunk], chunks))
        multi = len(queries) / (time.perf_counter() - t)
    out: dict[str, object] = {
        "name": impl.name,
        "build_s": round(build_s, 3),
        "qps": round(single, 1),
        "qps_all_cores": round(multi, 1),
        "threads": threads,
        "rss_mb": round(steady, 1),
        "peak_rss_mb": round(max(0.0, peak_mb() - base), 1),
        "results": results,
    }
    adds = []
    fresh = to_hex(make_data("random", 200, args.seed + 9))
    started = time.perf_counter()
    for k, h in enumerate(fresh):
        t = time.perf_counter()
        impl.add(args.size + k, h)
        adds.append(time.perf_counter() - t)
        if k >= 10 and time.perf_counter() - started > 10:  # slow adds: enough samples
            break
    out["adds_timed"] = len(adds)
    out["add_ms_median"] = round(float(np.median(adds)) * 1e3, 4)
    out["add_ms_p99"] = round(float(np.percentile(adds, 99)) * 1e3, 4)
    out["add_visible"] = all(args.size + k in impl.query(fresh[k]) for k in range(len(adds)))
    if impl.remove is not None:
        t = time.perf_counter()
        impl.remove(args.size + 5)
        out["remove_ms"] = round((time.perf_counter() - t) * 1e3, 4)
        out["remove_visible"] = (args.size + 5) not in impl.query(fresh[5])
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        path = os.path.join(tmp, "snapshot")
        t = time.perf_counter()
        out["snapshot_mb"] = round(impl.save(path) / 2**20, 1)
        out["snapshot_save_s"] = round(time.perf_counter() - t, 3)
        impl.index = None
        gc.collect()
        t = time.perf_counter()
        impl.load(path)
        impl.query(queries[0])
        out["snapshot_load_s"] = round(time.perf_counter() - t, 3)
    return out


# -- the run ---------------------------------------------------------------------------


def run_worker(which: str, argv: list[str]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, *argv, "--worker", which],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{which} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def recall(results: dict[str, list[int]], truth: list[list[int]]) -> tuple[float, bool]:
    want = sum(len(t) for t in truth)
    got = sum(len(set(results[str(i)]) & set(t)) for i, t in enumerate(truth))
    exact = all(results[str(i)] == t for i, t in enumerate(truth))
    return (got / want if want else 1.0), exact


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument(
        "--data", default="random", choices=["random", "clustered", "lowentropy", "photos"]
    )
    ap.add_argument("--sample", type=int, default=200, help="queries checked by brute force")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-baseline", action="store_true", help="skip PDQIndex")
    ap.add_argument("--tmp", default=None, help="directory for snapshot files")
    ap.add_argument("--json", action="store_true", help="(output is always JSON)")
    ap.add_argument("--worker", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args)))
        return
    argv = [
        "--size",
        str(args.size),
        "--queries",
        str(args.queries),
        "--data",
        args.data,
        "--sample",
        str(args.sample),
        "--seed",
        str(args.seed),
    ] + (["--tmp", args.tmp] if args.tmp else [])
    ours = run_worker("ours", argv)
    base = None if args.no_baseline else run_worker("baseline", argv)
    data = make_data(args.data, args.size, args.seed)
    sample = make_queries(args.data, data, args.queries, args.seed)
    # the workers saw queries in this order; the sample is the first --sample of them
    truth = brute_force(data, sample[: args.sample])
    report: dict[str, object] = {
        "size": args.size,
        "queries": args.queries,
        "data": args.data,
        "radius": RADIUS,
        "sample": len(truth),
        "true_matches_in_sample": sum(len(t) for t in truth),
    }
    r, exact = recall(ours.pop("results"), truth)
    report.update({f"ours_{k}": v for k, v in ours.items()})
    report["recall"] = round(r, 6)
    report["exact"] = exact
    if base is not None:
        br, bexact = recall(base.pop("results"), truth)
        report.update({f"baseline_{k}": v for k, v in base.items()})
        report["baseline_recall"] = round(br, 6)
        report["baseline_exact"] = bexact
        report["ratio"] = round(ours["qps"] / base["qps"], 2)
        report["ratio_all_cores"] = round(ours["qps_all_cores"] / base["qps_all_cores"], 2)
        report["rss_ratio"] = round(ours["rss_mb"] / max(base["rss_mb"], 1e-9), 3)
        report["build_ratio"] = round(ours["build_s"] / base["build_s"], 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
