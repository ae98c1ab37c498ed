"""The robustness benchmark: bank half of a folder of images, alter them every way in the
catalogue, match the altered copies and the never-banked half, and count.

Each matching configuration is a bank of its own in one throwaway SQLite store, holding the
same images with different options (plain PDQ as HMA matches it; with rotations and flips;
with border trimming; with local features; with all of them), so one lookup per query
answers for every configuration.

- **recall** per edit: the share of banked images whose altered copy matched its own entry;
- **false matches**: pairs (image A, banked image B), A != B, where any copy of A (the
  original or an edit) matched B, over all such pairs;
- **cost**: lookups per second with the query signals each configuration needs, and the
  bytes kept per banked image relative to plain PDQ's 32 (rotations, flips and borders work
  at query time and keep nothing more; local features keep keypoints and descriptors).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
from PIL import Image

from safeguard.config import Settings
from safeguard.engine import Safeguard
from safeguard.errors import InvalidRequest
from safeguard.evaluation.edits import CATALOGUE, FAMILIES, Edit, deliver
from safeguard.signals import local
from safeguard.signals.files import hash_bytes, worker_pool
from safeguard.signals.variants import needs_dihedral, needs_trim

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


@dataclass(frozen=True)
class Config:
    name: str
    dihedral: bool
    trim_borders: bool
    local_features: bool
    description: str

    def wants(self, key: str) -> bool:
        """Whether a lookup in this configuration needs this query key."""
        if key.partition(":")[0] == local.NAME:  # local features, and the mirror image's
            return self.local_features
        variant = key.partition(":")[2]
        if not variant:
            return True
        return (self.dihedral or not needs_dihedral(variant)) and (
            self.trim_borders or not needs_trim(variant)
        )


CONFIGS = (
    Config("plain", False, False, False, "PDQ alone, as HMA matches"),
    Config("dihedral", True, False, False, "PDQ + the query's 8 rotations and flips"),
    Config("trim", False, True, False, "PDQ + the picture inside a border"),
    Config("local", False, False, True, "PDQ + local features, of the query and its mirror"),
    Config("default", True, True, True, "all of them (safeguard's default)"),
)


@dataclass
class Query:
    source: int  # index of the image it came from
    edit: str
    signals: dict[str, str]


@dataclass
class Run:
    images: list[str]
    banked: list[int]
    edits: tuple[Edit, ...]
    queries: list[Query] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    hash_seconds: float = 0.0


def find_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InvalidRequest(f"{folder}: not a directory")
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(found) < 4:
        raise InvalidRequest(f"{folder}: needs at least 4 images, found {len(found)}")
    return found


def _hash_edits(args: tuple[int, str, tuple[str, ...], int]) -> tuple[list[Query], list[str]]:
    """Worker: every edit of one image, delivered as a file and hashed with its variants."""
    index, path, names, max_pixels = args
    edits = [e for e in CATALOGUE if e.name in names]
    queries, errors = [], []
    try:
        with Image.open(path) as im:
            im.load()
            base = im.convert("RGB")
    except Exception as e:
        return [], [f"{path}: cannot open: {e}"]
    for edit in edits:
        fs = hash_bytes(
            deliver(base, edit),
            f"{path}#{edit.name}",
            max_pixels=max_pixels,
            variants=True,
            local=True,
        )
        if fs.pdq is None:
            errors.append(f"{path} ({edit.name}): {fs.error}")
            continue
        wanted = {k: v for k, v in fs.query().items() if k.partition(":")[0] in ("pdq", local.NAME)}
        queries.append(Query(index, edit.name, wanted))
    return queries, errors


def run(
    folder: Path,
    settings: Settings,
    *,
    edits: tuple[Edit, ...] = CATALOGUE,
    workers: int | None = None,
    edit_unbanked: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, object]:
    """Run the benchmark over the images in `folder`; returns the report (see `report`)."""
    paths = find_images(folder)
    images = [str(p.relative_to(folder)) for p in paths]
    banked = list(range(0, len(paths), 2))
    r = Run(images, banked, edits)
    names = tuple(e.name for e in edits)
    banked_set = set(banked)
    jobs = [
        (
            i,
            str(p),
            names if (i in banked_set or edit_unbanked) else ("original",),
            settings.max_image_pixels,
        )
        for i, p in enumerate(paths)
    ]
    start = time.perf_counter()
    workers = workers or settings.workers
    done = 0
    with worker_pool(workers) as pool:
        for queries, errors in pool.map(_hash_edits, jobs, chunksize=2):
            r.queries.extend(queries)
            r.errors.extend(errors)
            done += 1
            if on_progress:
                on_progress(done, len(jobs))
    r.hash_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="safeguard-eval-") as tmp:
        sg = Safeguard.open(
            settings.with_(
                home=Path(tmp), database_url=f"sqlite:///{tmp}/eval.db", record_matches=False
            )
        )
        try:
            return _match_and_count(sg, r, paths)
        finally:
            sg.close()


def _match_and_count(sg: Safeguard, r: Run, paths: list[Path]) -> dict[str, object]:
    originals = {q.source: q for q in r.queries if q.edit == "original"}
    content_of: dict[int, int] = {}  # content id -> image index
    for c in CONFIGS:
        sg.banks.create(
            c.name,
            dihedral=c.dihedral,
            trim_borders=c.trim_borders,
            local_features=c.local_features,
        )
        for i in r.banked:
            if i in originals:
                signals = originals[i].signals
                added = sg.banks.add(c.name, {"pdq": signals["pdq"]}, local=signals.get(local.NAME))
                content_of[added.content_id] = i
    matcher = sg.matcher
    matcher.auto_refresh = False
    matcher.refresh(force=True)
    results = matcher.lookup_many([q.signals for q in r.queries])
    hits: dict[str, dict[tuple[int, str], bool]] = {c.name: {} for c in CONFIGS}
    false_pairs: dict[str, set[tuple[int, int]]] = {c.name: set() for c in CONFIGS}
    for q, res in zip(r.queries, results, strict=True):
        for m in res.matches:
            target = content_of[m.content_id]
            if target == q.source:
                hits[m.bank][(q.source, q.edit)] = True
            else:
                false_pairs[m.bank].add((q.source, target))
    banked_with_hash = [i for i in r.banked if i in originals]
    sources = {q.source for q in r.queries}
    pairs = len(sources) * len(banked_with_hash) - len(set(banked_with_hash) & sources)
    recall: dict[str, dict[str, float]] = {}
    for c in CONFIGS:
        # an edit that could not be hashed (too small, say) counts as a miss
        recall[c.name] = {
            e.name: round(
                sum(hits[c.name].get((i, e.name), False) for i in banked_with_hash)
                / len(banked_with_hash),
                4,
            )
            for e in r.edits
        }
    family = {
        c.name: {
            f: round(sum(recall[c.name][e.name] for e in r.edits if e.family == f) / n, 4)
            for f in FAMILIES
            if (n := sum(1 for e in r.edits if e.family == f))
        }
        for c in CONFIGS
    }
    kept = [
        len(local.decode(v)[1])
        for i in banked_with_hash
        if (v := originals[i].signals.get(local.NAME))
    ]
    cost = _cost(matcher, r.queries, 32 + 40 * sum(kept) / max(1, len(banked_with_hash)))
    cost["hashing"] = _hash_cost(paths[:24])
    return {
        "images": len(paths),
        "banked": len(banked_with_hash),
        "queries": len(r.queries),
        "edits": [{"name": e.name, "family": e.family} for e in r.edits],
        "configs": [
            {
                "name": c.name,
                "dihedral": c.dihedral,
                "trim_borders": c.trim_borders,
                "local_features": c.local_features,
                "description": c.description,
            }
            for c in CONFIGS
        ],
        "recall": recall,
        "family_recall": family,
        "false_matches": {
            c.name: {
                "pairs": len(false_pairs[c.name]),
                "pairs_checked": pairs,
                "rate": len(false_pairs[c.name]) / pairs if pairs else 0.0,
                "examples": [
                    {"query_image": r.images[a], "matched_image": r.images[b]}
                    for a, b in sorted(false_pairs[c.name])[:10]
                ],
            }
            for c in CONFIGS
        },
        "cost": cost,
        "hash_seconds": round(r.hash_seconds, 1),
        "errors": r.errors[:50],
    }


def _hash_cost(paths: list[Path]) -> dict[str, float]:
    """Milliseconds to hash a file: plain; with the PDQ variants; with those and the local
    features (what a lookup by file computes with the default options)."""
    data = [p.read_bytes() for p in paths]
    timing = {}
    for variants, with_local in ((False, False), (True, False), (True, True)):
        start = time.perf_counter()
        for d in data:
            hash_bytes(d, variants=variants, local=with_local)
        timing[variants, with_local] = 1000 * (time.perf_counter() - start) / len(data)
    plain = timing[False, False]
    return {
        "ms_per_file_plain": round(plain, 2),
        "ms_per_file_pdq_variants": round(timing[True, False], 2),
        "ms_per_file_with_variants": round(timing[True, True], 2),
        "ratio": round(timing[True, True] / plain, 2),
    }


def _cost(matcher, queries: list[Query], local_bytes: float) -> dict[str, dict[str, float]]:
    """Lookups per second for each configuration, with the query signals it needs, against
    its own bank, and bytes kept per image (`local_bytes` with local features, 32 without);
    relative to plain PDQ."""
    out: dict[str, dict[str, float]] = {}
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # truly one thread: faiss's own would make it follow the load
    try:
        for c in CONFIGS:
            sample = queries[: min(len(queries), 1000 if c.local_features else 3000)]
            qs = [{k: v for k, v in q.signals.items() if c.wants(k)} for q in sample]
            start = time.perf_counter()
            matcher.lookup_many(qs, {c.name})
            elapsed = time.perf_counter() - start
            out[c.name] = {
                "lookups_per_s": round(len(qs) / elapsed, 1),
                "hashes_per_query": round(sum(len(q) for q in qs) / len(qs), 2),
                "index_size_ratio": round(local_bytes / 32, 1) if c.local_features else 1.0,
            }
    finally:
        faiss.omp_set_num_threads(threads)
    plain = out["plain"]["lookups_per_s"]
    for row in out.values():
        row["speed_ratio"] = round(row["lookups_per_s"] / plain, 3)
    return out
