"""Word index sharing benchmark (issue #21): how much of one word index each server worker
holds, with index snapshots (every worker maps the same files) and without (each builds its
own copy from the store).

Banks `--images` items with local features in a SQLite store: the banked half of the COCO
photos in ../shared, then distractors (256 keypoints at random positions, each descriptor's
bytes taken from two of the photos' descriptors, as bench/local_features.py makes them),
and writes one index snapshot. Then starts `safeguard serve --workers N` twice, with
`SAFEGUARD_LOCAL_INDEX=words` and with and without `SAFEGUARD_SNAPSHOT_DIR`, sends 10%
crops of banked photos to `POST /v1/match/files` (again after a 503's Retry-After while the
index loads; the seconds to /readyz and to the first answer are given), and reads
each worker's /proc/PID/smaps (the server's children: its workers and multiprocessing's small
helper): its anonymous memory, and the resident (RSS) and
proportional (PSS: a page shared by two processes counts half to each) size of the
snapshot's files mapped into it. Baseline: the same server without snapshots. Prints JSON.

    python bench/word_index_sharing.py --images 20000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).parent))

from service import _start_server, _stop  # noqa: E402  (the sibling benchmark's helpers)

from safeguard import Safeguard  # noqa: E402
from safeguard.access import KeyService  # noqa: E402
from safeguard.matching import Matcher  # noqa: E402
from safeguard.signals import local  # noqa: E402
from safeguard.signals.images import decode_rgb  # noqa: E402

PHOTOS = REPO.parent / "shared" / "datasets" / "images" / "coco"


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _store(root: Path, images: int, photos: list[Path]) -> tuple[str, str, list[bytes]]:
    """The store's URL, a match key's token and the crop queries; the snapshot written."""
    home, url = root / "home", f"sqlite:///{root / 'home' / 'safeguard.db'}"
    home.mkdir(parents=True)
    rng = np.random.default_rng(1)
    values, crops = [], []
    for p in photos:
        with Image.open(p) as im:
            im = im.convert("RGB")
            value = local.extract(decode_rgb(_jpeg(im), 10**8))
            w, h = im.size
            crops.append(_jpeg(im.crop((w // 10, h // 10, w - w // 10, h - h // 10))))
        if value is not None:
            values.append(value)
    pool = np.concatenate([local.decode(v)[1] for v in values])
    with Safeguard.open(home=home, database_url=url, actor="bench") as sg:
        sg.banks.create("photos")
        for i in range(images):
            if i < len(values):
                value = values[i]
            else:
                a, b = (pool[rng.integers(0, len(pool), local.FEATURES)] for _ in range(2))
                desc = np.where(rng.random(a.shape) < 0.5, a, b)
                pts = rng.uniform((0, 0), (512, 384), (local.FEATURES, 2))
                value = local.encode(pts, desc)
            sg.banks.add("photos", {"md5": f"{i:032x}"}, local=value)
        token = KeyService(sg.db, "bench").create("m", ["match"], rate_limit=10**9).token
        Matcher(sg.db).save_snapshot(root / "snapshots")
    return url, token, crops


def _memory(pid: int, snapshots: Path) -> dict[str, float]:
    """A process's anonymous memory and the RSS and PSS of the snapshot files it maps, MB."""
    rss = pss = 0
    path = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if parts and not parts[0].endswith(":"):  # a mapping's first line
                path = parts[5] if len(parts) >= 6 else None
            elif path and str(snapshots) in path and parts[0] in ("Rss:", "Pss:"):
                if parts[0] == "Rss:":
                    rss += int(parts[1])
                else:
                    pss += int(parts[1])
    with open(f"/proc/{pid}/status") as f:
        anon = next(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))
    return {
        "anon_mb": round(anon / 1024, 1),
        "snapshot_rss_mb": round(rss / 1024, 1),
        "snapshot_pss_mb": round(pss / 1024, 1),
    }


def _serve(env: dict, workers: int, token: str, crops: list[bytes], root: Path, name: str) -> dict:  # type: ignore[type-arg]
    t0 = time.monotonic()
    proc, port, started = _start_server(env, workers, root / f"serve-{name}.log")
    answered = None
    try:
        matched = 0
        deadline = time.monotonic() + 1800
        for _ in range(4 * workers):  # requests are spread over the workers
            while True:  # a 503 (index still loading, decoders busy) says when to come back
                r = httpx.post(
                    f"http://127.0.0.1:{port}/v1/match/files",
                    headers={"Authorization": f"Bearer {token}"},
                    files=[("files", (f"c{i}.jpg", c, "image/jpeg")) for i, c in enumerate(crops)],
                    timeout=600,
                )
                if r.status_code != 503 or time.monotonic() > deadline:
                    break
                time.sleep(float(r.headers.get("retry-after", 1)))
            r.raise_for_status()
            answered = answered or time.monotonic() - t0
            matched = sum(1 for x in r.json()["results"] if x["result"] and x["result"]["matches"])
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        return {
            "ready_s": round(started, 1),
            "first_answer_s": round(answered or 0.0, 1),
            "crops_matched": matched,
            "crops": len(crops),
            "workers": [_memory(int(k), root / "snapshots") for k in kids],
        }
    finally:
        _stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queries", type=int, default=16, help="crops of banked photos sent")
    args = ap.parse_args()
    photos = sorted(PHOTOS.rglob("*.jpg"))[0::2][: args.queries]
    root = Path(tempfile.mkdtemp(prefix="sg-bench-sharing-"))
    try:
        t0 = time.perf_counter()
        url, token, crops = _store(root, args.images, photos)
        built = time.perf_counter() - t0
        env = {
            **os.environ,
            "SAFEGUARD_HOME": str(root / "home"),
            "SAFEGUARD_DATABASE_URL": url,
            "SAFEGUARD_LOCAL_INDEX": "words",
        }
        env.pop("SAFEGUARD_SNAPSHOT_DIR", None)
        shared = {**env, "SAFEGUARD_SNAPSHOT_DIR": str(root / "snapshots")}
        out = {
            "images": args.images,
            "store_and_snapshot_s": round(built, 1),
            "baseline": "the same server without snapshots (each worker builds its own index)",
            "with_snapshots": _serve(shared, args.workers, token, crops, root, "shared"),
            "without_snapshots": _serve(env, args.workers, token, crops, root, "own"),
        }
        print(json.dumps(out))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
