"""Matcher snapshots: the whole match state at one change-log position, on disk.

A process that starts from a snapshot maps the PDQ index from a file instead of reading
every signal row from the store, then follows the change log from the snapshot's position
(see `Matcher`). One snapshot is a directory named by its version, the change-log cursor
(`00000000000000012345`), holding:

    manifest.json        format, safeguard version, schema revision, signal types, the feed
                         position, an anchor (the change-log row at the cursor: it ties the
                         snapshot to one database), and each file's size and SHA-256
    state.json           the enabled banks' settings and the feed's gaps
    <type>.entries.npy   entry id, content id and bank id of every index entry (int64, 3 x n)
    <type>.mih           a PDQ index (`MihPdqIndex`, memory-mapped when loaded)
    <type>.ids.npy, <type>.values.bin, <type>.offsets.npy
                         other types whose index lists its values (`items()`): re-indexed
                         with the type's `make_index` on load
    <type>.<array>.npy, <type>.vocabulary
                         local features in a word index (index/words.py), memory-mapped
                         when loaded; refused under another vocabulary

A type whose index can neither be saved nor list its values (local features in
`LocalFeatureIndex`) is marked `store` and read from the store on load. A snapshot is
written to a temporary directory and renamed into place, so a reader never sees half of
one; the newest `keep` are kept. Loading checks everything the manifest lists (and every
file's checksum) and returns None, logging why, on any mismatch or damage, so the caller
builds from the store instead: a damaged snapshot never serves answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from safeguard._version import __version__
from safeguard.index.mih import FrozenMih, MihPdqIndex, write_snapshot
from safeguard.store import Change, Database

log = logging.getLogger("safeguard.matching.snapshots")

FORMAT = 1
MANIFEST = "manifest.json"
_TMP_PREFIX = ".tmp-"
_LOCK = ".writer.lock"
#: a temporary directory older than this was left by a writer that died
_STALE_TMP_S = 3600.0

# (entry ids, content ids, bank ids)
Entries = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class TypeState:
    """One signal type's part of a snapshot: its entries, and its index as `mih` (a frozen
    PDQ index), `values` (entry ids and canonical values) or neither (`store`)."""

    entries: Entries
    mih: FrozenMih | None = None
    values: tuple[np.ndarray, list[str]] | None = None
    words: Any = None  # a WordArrays (index/words.py)
    index: Any = None  # after loading: the index, or None for `store`

    @property
    def kind(self) -> str:
        if self.mih is not None or isinstance(self.index, MihPdqIndex):
            return "mih"
        if self.values is not None:
            return "values"
        if self.words is not None:
            return "words"
        return "store"


@dataclass
class MatcherState:
    """What a snapshot holds: the feed position, the enabled banks' settings (plain dicts),
    and each signal type's part."""

    cursor: int
    gaps: list[int]
    banks: dict[int, dict[str, Any]]
    types: dict[str, TypeState]
    anchor: dict[str, Any] | None = None
    version: int = 0
    path: Path | None = None
    created_at: str = ""
    sizes: dict[str, int] = field(default_factory=dict)


class SnapshotRefused(Exception):
    """A snapshot that cannot be used, and why."""


# -- writing ----------------------------------------------------------------------------------


def anchor_of(db: Database, cursor: int) -> dict[str, Any] | None:
    """The change-log row at `cursor` (id, time, action): a database that has another row
    there is not the one the snapshot was taken from."""
    if cursor <= 0:
        return None
    with db.transaction() as s:
        q = select(Change.id, Change.at, Change.action).where(Change.id == cursor)
        row = s.execute(q).first()
    if row is None:
        return None
    return {"id": int(row[0]), "at": _iso(row[1]), "action": str(row[2])}


def write(directory: str | Path, state: MatcherState, db: Database, keep: int = 2) -> Path:
    """Write `state` as a new snapshot under `directory` and prune to the newest `keep`.

    Returns the snapshot's directory; when one of this version exists already it is left
    as it is and returned."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    final = root / _name(state.cursor)
    if (final / MANIFEST).exists():
        prune(root, keep)
        return final
    tmp = root / f"{_TMP_PREFIX}{_name(state.cursor)}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        files: dict[str, dict[str, Any]] = {}
        types: dict[str, dict[str, Any]] = {}
        for t, ts in sorted(state.types.items()):
            entries = np.stack([np.asarray(a, dtype=np.int64) for a in ts.entries])
            _save_npy(tmp / f"{t}.entries.npy", entries)
            names = [f"{t}.entries.npy"]
            if ts.mih is not None:
                write_snapshot(ts.mih, tmp / f"{t}.mih", state.cursor)
                names.append(f"{t}.mih")
            elif ts.values is not None:
                ids, values = ts.values
                blob = "".join(values).encode()
                lengths = np.fromiter((len(v.encode()) for v in values), np.int64, len(values))
                _save_npy(tmp / f"{t}.ids.npy", np.asarray(ids, dtype=np.int64))
                _save_npy(tmp / f"{t}.offsets.npy", np.concatenate([[0], np.cumsum(lengths)]))
                (tmp / f"{t}.values.bin").write_bytes(blob)
                names += [f"{t}.ids.npy", f"{t}.offsets.npy", f"{t}.values.bin"]
            elif ts.words is not None:
                from safeguard.index.words import write_arrays

                names += write_arrays(ts.words, tmp, t)
            types[t] = {"kind": ts.kind, "entries": int(entries.shape[1]), "files": names}
        (tmp / "state.json").write_text(
            json.dumps(
                {"gaps": list(state.gaps), "banks": {str(k): v for k, v in state.banks.items()}}
            )
        )
        for path in sorted(tmp.iterdir()):
            files[path.name] = {"size": path.stat().st_size, "sha256": _digest(path)}
        manifest = {
            "format": FORMAT,
            "safeguard_version": __version__,
            "schema_revision": db.revision(),
            "created_at": datetime.now(UTC).isoformat(),
            "version": state.cursor,
            "cursor": state.cursor,
            "anchor": state.anchor,
            "signal_types": types,
            "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        for path in tmp.iterdir():
            _fsync(path)
        _fsync(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / MANIFEST).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another writer got there first
        _fsync(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prune(root, keep)
    return final


def prune(directory: str | Path, keep: int = 2) -> list[Path]:
    """Delete all but the newest `keep` snapshots (and temporary directories left by
    writers that died); returns what was deleted."""
    root = Path(directory)
    gone = [p for _, p in list_snapshots(root)[max(1, keep) :]]
    now = time.time()
    with contextlib.suppress(FileNotFoundError):
        for p in root.iterdir():
            if p.name.startswith(_TMP_PREFIX) and now - p.stat().st_mtime > _STALE_TMP_S:
                gone.append(p)
    for p in gone:
        shutil.rmtree(p, ignore_errors=True)
    return gone


def list_snapshots(directory: str | Path) -> list[tuple[int, Path]]:
    """(version, directory) of each snapshot under `directory`, newest first."""
    root = Path(directory)
    if not root.is_dir():
        return []
    found = [(int(p.name), p) for p in root.iterdir() if p.is_dir() and p.name.isdigit()]
    return sorted(found, reverse=True)


def newest_version(directory: str | Path) -> int | None:
    found = list_snapshots(directory)
    return found[0][0] if found else None


# -- loading ----------------------------------------------------------------------------------


def load_newest(
    directory: str | Path, db: Database, types: dict[str, Callable[..., Any]]
) -> MatcherState | None:
    """The newest snapshot under `directory` that passes every check, with its indexes
    loaded (`types`: each signal type's `make_index`), or None. Each refusal is logged."""
    found = list_snapshots(directory)
    if not found:
        log.info("no index snapshot in %s: building the index from the store", directory)
        return None
    for _, path in found:
        try:
            state = load(path, db, types)
        except SnapshotRefused as e:
            log.warning("index snapshot %s refused: %s", path, e)
            continue
        except Exception as e:  # damage we did not foresee: refuse it all the same
            log.warning("index snapshot %s refused: unreadable (%s: %s)", path, type(e).__name__, e)
            continue
        return state
    log.warning("no usable index snapshot in %s: building the index from the store", directory)
    return None


def load(path: str | Path, db: Database, types: dict[str, Callable[..., Any]]) -> MatcherState:
    """Load one snapshot, or raise SnapshotRefused saying what is wrong with it."""
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise SnapshotRefused(f"no readable manifest ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SnapshotRefused(f"format {manifest.get('format')!r}, this version reads {FORMAT}")
    if manifest.get("safeguard_version") != __version__:
        raise SnapshotRefused(
            f"written by safeguard {manifest.get('safeguard_version')}, this is {__version__}"
        )
    if manifest.get("schema_revision") != db.revision():
        raise SnapshotRefused(
            f"schema revision {manifest.get('schema_revision')}, the store is at {db.revision()}"
        )
    if set(manifest["signal_types"]) != set(types):
        raise SnapshotRefused(
            f"signal types {sorted(manifest['signal_types'])}, this process has {sorted(types)}"
        )
    cursor = int(manifest["cursor"])
    if manifest["version"] != cursor or path.name != _name(cursor):
        raise SnapshotRefused("its name, version and cursor disagree")
    _check_anchor(db, cursor, manifest.get("anchor"))
    for name, spec in manifest["files"].items():
        f = path / name
        if Path(name).name != name or not f.is_file():
            raise SnapshotRefused(f"{name} is missing")
        if f.stat().st_size != spec["size"]:
            raise SnapshotRefused(f"{name} is {f.stat().st_size} bytes, expected {spec['size']}")
        if _digest(f) != spec["sha256"]:
            raise SnapshotRefused(f"{name} does not match its checksum (damaged)")
    raw = json.loads((path / "state.json").read_text())
    state = MatcherState(
        cursor=cursor,
        gaps=[int(g) for g in raw["gaps"]],
        banks={int(k): dict(v) for k, v in raw["banks"].items()},
        types={},
        anchor=manifest.get("anchor"),
        version=cursor,
        path=path,
        created_at=str(manifest.get("created_at", "")),
        sizes={n: int(s["size"]) for n, s in manifest["files"].items()},
    )
    for t, spec in manifest["signal_types"].items():
        missing = [n for n in spec["files"] if n not in manifest["files"]]
        if missing:
            raise SnapshotRefused(f"{missing[0]} is not in the manifest")
        entries_arr = np.load(path / f"{t}.entries.npy", allow_pickle=False)
        if entries_arr.shape != (3, spec["entries"]) or entries_arr.dtype != np.int64:
            raise SnapshotRefused(f"{t}.entries.npy has the wrong shape")
        entries = (entries_arr[0], entries_arr[1], entries_arr[2])
        kind = spec["kind"]
        if kind == "mih":
            index: Any = MihPdqIndex.load(path / f"{t}.mih")
            if index.version != cursor:
                raise SnapshotRefused(f"{t}.mih is of version {index.version}, not {cursor}")
            if not isinstance(types[t]([], []), MihPdqIndex):
                raise SnapshotRefused(f"signal type {t!r} no longer uses a PDQ index")
        elif kind == "values":
            ids = np.load(path / f"{t}.ids.npy", allow_pickle=False)
            offsets = np.load(path / f"{t}.offsets.npy", allow_pickle=False).tolist()
            blob = (path / f"{t}.values.bin").read_bytes()
            if len(offsets) != len(ids) + 1 or offsets[-1] != len(blob):
                raise SnapshotRefused(f"{t} values and their offsets disagree")
            values = [blob[a:b].decode() for a, b in zip(offsets, offsets[1:], strict=False)]
            index = types[t](ids.tolist(), values)
        elif kind == "words":
            from safeguard.index.words import WordIndex

            try:
                index = WordIndex.open(path, t)
            except ValueError as e:
                raise SnapshotRefused(f"{t}: {e}") from None
        elif kind == "store":
            index = None
        else:
            raise SnapshotRefused(f"{t}: unknown kind {kind!r}")
        if index is not None and len(index) != spec["entries"]:
            raise SnapshotRefused(f"{t}: {len(index)} entries indexed, {spec['entries']} listed")
        state.types[t] = TypeState(entries=entries, index=index)
    return state


def _check_anchor(db: Database, cursor: int, anchor: dict[str, Any] | None) -> None:
    with db.transaction() as s:
        head = s.scalar(select(func.max(Change.id))) or 0
    if head < cursor:
        raise SnapshotRefused(
            f"taken at change {cursor}, but this store's change log ends at {head} "
            "(another database, or one restored from an older backup)"
        )
    if anchor_of(db, cursor) != anchor:
        raise SnapshotRefused(f"change {cursor} in this store is not the one it was taken at")


# -- the background job -----------------------------------------------------------------------


class SnapshotJob:
    """A thread that writes a snapshot of `matcher` every `interval` seconds when its
    change-log cursor has moved past the newest snapshot in `directory`.

    Several processes (the workers of one server, or servers sharing the directory) may
    each run one: a lock file makes one write at a time, and the others then find the
    snapshot current and skip."""

    def __init__(self, matcher: Any, directory: str | Path, interval: float, keep: int = 2):
        self.matcher = matcher
        self.directory = Path(directory)
        self.interval = interval
        self.keep = keep
        self.last_written: Path | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-snapshots", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def run_once(self) -> Path | None:
        """Write a snapshot if one is due; returns its directory, or None."""
        if not self.matcher.ready:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.directory / _LOCK) as got:
            if not got:
                return None  # another process is writing one
            newest = newest_version(self.directory)
            if newest is not None and newest >= self.matcher.status().change_cursor:
                return None
            return self.matcher.save_snapshot(self.directory, keep=self.keep)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                written = self.run_once()
                if written is not None:
                    self.last_written = written
                    log.info("index snapshot written: %s", written)
                self.last_error = None
            except Exception as e:
                self.last_error = f"{type(e).__name__}: {e}"
                log.warning("index snapshot failed: %s", self.last_error)


@contextlib.contextmanager
def _exclusive(path: Path):
    """A non-blocking exclusive lock on `path`: yields whether it was taken."""
    import fcntl

    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- helpers ----------------------------------------------------------------------------------


def _name(version: int) -> str:
    return f"{version:020d}"


def _iso(at: Any) -> str | None:
    if at is None:
        return None
    if isinstance(at, datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return at.astimezone(UTC).isoformat()
    return str(at)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)


def _digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
