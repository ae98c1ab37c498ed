"""A matcher started from an index snapshot answers exactly as one built from the store.

Snapshots are written by one matcher and loaded by another (on SQLite and PostgreSQL);
changes committed after the snapshot, a transaction that commits late, damage of every
kind the loader checks for, pruning, and lookups running while a snapshot is written.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from safeguard import Safeguard
from safeguard.api.settings import ServiceSettings
from safeguard.banks import HashRecord
from safeguard.errors import ConfigError
from safeguard.matching import Matcher, snapshots
from safeguard.store.models import utcnow


def _near(rng: random.Random, value: str, bits: int) -> str:
    n = int(value, 16)
    for b in rng.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


def _answers(m: Matcher, queries: list[dict[str, str]]) -> list[object]:
    return [r.to_json() for r in m.lookup_many(queries)]


class World:
    """A store with three banks of PDQ hashes and digests, and queries near them."""

    def __init__(self, db_url: str, home: Path, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.sg = Safeguard.open(home=home, database_url=db_url, actor="test")
        self.bases = [f"{self.rng.getrandbits(256):064x}" for _ in range(40)]
        self.digests = [f"{self.rng.getrandbits(128):032x}" for _ in range(10)]
        self.content: dict[str, list[int]] = {"a": [], "b": [], "neg": [], "c": []}
        banks = self.sg.banks
        banks.create("a", pdq_threshold=31)
        banks.create("b", pdq_threshold=20)
        banks.create("neg", negative=True)
        banks.create("c")
        for i, base in enumerate(self.bases):
            name = ["a", "b", "neg", "c"][i % 4]
            self.add(name, {"pdq": _near(self.rng, base, 4)})
        for d in self.digests[:6]:
            self.add("a", {"md5": d})
        self.queries = [
            {"pdq": _near(self.rng, b, self.rng.choice([0, 8, 18, 28]))} for b in self.bases
        ]
        self.queries += [{"md5": d} for d in self.digests]

    def add(self, bank: str, signals: dict[str, str]) -> int:
        cid = self.sg.banks.add(bank, signals).content_id
        self.content[bank].append(cid)
        return cid

    def change_everything(self) -> None:
        """Adds, an import, removals, a bank disabled, one deleted, a threshold changed."""
        rng = self.rng
        for base in self.bases[:5]:
            self.add("b", {"pdq": _near(rng, base, 2)})
        self.add("a", {"md5": self.digests[7]})
        self.sg.banks.import_records(
            "a", [HashRecord({"pdq": _near(rng, b, 3)}) for b in self.bases[10:16]]
        )
        for cid in self.content["a"][:3]:
            self.sg.banks.remove_content("a", cid)
        self.sg.banks.set_enabled("neg", False)
        self.sg.banks.delete("c")
        self.sg.banks.update("a", pdq_threshold=12)

    def close(self) -> None:
        self.sg.close()


@pytest.fixture
def world(db_url: str, home: Path):  # type: ignore[no-untyped-def]
    w = World(db_url, home)
    yield w
    w.close()


def test_snapshot_start_matches_cold_build_after_changes(world: World, tmp_path: Path) -> None:
    snap = tmp_path / "snapshots"
    first = Matcher(world.sg.db)
    before = _answers(first, world.queries)
    written = first.save_snapshot(snap)
    assert written.name == f"{first.status().change_cursor:020d}"
    manifest = json.loads((written / "manifest.json").read_text())
    assert manifest["signal_types"]["pdq"]["kind"] == "mih"
    assert manifest["signal_types"]["pdq"]["entries"] == 40

    # as it was: the same answers, with nothing to catch up on
    same = Matcher(world.sg.db, snapshot_dir=snap)
    assert _answers(same, world.queries) == before
    assert same.status().source == "snapshot"

    world.change_everything()
    joined = Matcher(world.sg.db, snapshot_dir=snap)
    cold = Matcher(world.sg.db)
    after = _answers(cold, world.queries)
    assert after != before  # the changes changed answers, so the catch-up is tested
    assert _answers(joined, world.queries) == after
    status = joined.status()
    assert status.source == "snapshot" and status.snapshot_version == int(written.name)
    assert status.changes_applied > 0
    assert status.sizes == cold.status().sizes and status.banks == cold.status().banks

    # and it keeps following the log like any other matcher
    world.sg.banks.set_enabled("neg", True)
    world.add("b", {"pdq": world.bases[30]})
    assert _answers(joined, world.queries) == _answers(Matcher(world.sg.db), world.queries)


def test_snapshot_of_a_followed_index_with_a_delta(world: World, tmp_path: Path) -> None:
    """A snapshot taken from a matcher that applied changes (PDQ entries in the MIH delta,
    entries in the entry table's recent part) holds them all."""
    m = Matcher(world.sg.db)
    _answers(m, world.queries)
    world.change_everything()
    _answers(m, world.queries)
    m.save_snapshot(tmp_path)
    joined = Matcher(world.sg.db, snapshot_dir=tmp_path)
    assert _answers(joined, world.queries) == _answers(Matcher(world.sg.db), world.queries)
    assert joined.status().source == "snapshot" and joined.status().changes_applied == 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_change_committing_late_after_the_snapshot_is_seen(world: World, tmp_path: Path) -> None:
    """A transaction takes a change-log id, a later one commits, the snapshot is written
    (its cursor is past the first id), then the first commits: a matcher started from the
    snapshot must see it."""
    pdq = f"{world.rng.getrandbits(256):064x}"
    writer = Matcher(world.sg.db)
    writer.refresh()
    slow = Safeguard.open(database_url=world.sg.settings.database_url, actor="slow")
    with slow.db.transaction() as s:
        bank_id = s.execute(text("SELECT id FROM banks WHERE name = 'a'")).scalar()
        cid = s.execute(
            text(
                "INSERT INTO bank_content (bank_id, dedupe_key, source, note, tags, added_at, "
                "added_by) VALUES (:b, :k, '', '', '[]', :t, 'slow') RETURNING id"
            ),
            {"b": bank_id, "k": f"pdq:{pdq}", "t": utcnow()},
        ).scalar()
        s.execute(
            text(
                "INSERT INTO content_signals (content_id, bank_id, signal_type, signal_value) "
                "VALUES (:c, :b, 'pdq', :v)"
            ),
            {"c": cid, "b": bank_id, "v": pdq},
        )
        s.execute(
            text(
                "INSERT INTO change_log (at, actor, action, bank_id, bank_name, content_id, "
                "detail) VALUES (:t, 'slow', 'content.add', :b, 'a', :c, '{}')"
            ),
            {"t": utcnow(), "b": bank_id, "c": cid},
        )
        world.sg.banks.create("later")
        writer.refresh()
        written = writer.save_snapshot(tmp_path)
        assert not writer.lookup({"pdq": pdq}).matched
    slow.close()
    joined = Matcher(world.sg.db, snapshot_dir=tmp_path)
    assert [m.content_id for m in joined.lookup({"pdq": pdq}).matches] == [cid]
    assert joined.status().snapshot_version == int(written.name)


def _damage_bit(path: Path) -> None:
    f = path / "pdq.mih"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))


def _damage_truncate(path: Path) -> None:
    f = path / "pdq.mih"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _damage_entries(path: Path) -> None:
    f = path / "pdq.entries.npy"
    data = bytearray(f.read_bytes())
    data[-3] ^= 0x40
    f.write_bytes(bytes(data))


def _edit_manifest(**changes: object):  # type: ignore[no-untyped-def]
    def edit(path: Path) -> None:
        m = json.loads((path / "manifest.json").read_text())
        m.update(changes)
        (path / "manifest.json").write_text(json.dumps(m))

    return edit


def _missing_file(path: Path) -> None:
    (path / "state.json").unlink()


def _garbage_manifest(path: Path) -> None:
    (path / "manifest.json").write_text("{not json")


DAMAGE = {
    "bit-flip": (_damage_bit, "checksum"),
    "truncated": (_damage_truncate, "bytes, expected"),
    "entries": (_damage_entries, "checksum"),
    "foreign-version": (_edit_manifest(safeguard_version="0.0.1"), "written by safeguard"),
    "format": (_edit_manifest(format=99), "format"),
    "schema": (_edit_manifest(schema_revision="0001"), "schema revision"),
    "types": (
        _edit_manifest(signal_types={"pdq": {"kind": "mih", "entries": 40, "files": []}}),
        "signal types",
    ),
    "missing-file": (_missing_file, "missing"),
    "manifest": (_garbage_manifest, "manifest"),
}


# checks of the snapshot files themselves, the same on both stores: run on SQLite only
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_snapshot_is_refused(
    world: World, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    snap = tmp_path / "snapshots"
    written = Matcher(world.sg.db).save_snapshot(snap)
    world.change_everything()
    spoil, reason = DAMAGE[damage]
    spoil(written)
    with caplog.at_level(logging.WARNING, logger="safeguard.matching.snapshots"):
        m = Matcher(world.sg.db, snapshot_dir=snap)
        answers = _answers(m, world.queries)
    assert m.status().source == "store"
    assert answers == _answers(Matcher(world.sg.db), world.queries)
    assert any("refused" in r.message and reason in r.message for r in caplog.records), [
        r.message for r in caplog.records
    ]


# checks of the snapshot files themselves, the same on both stores: run on SQLite only
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("changes", [3, 200])
def test_snapshot_of_another_database_is_refused(
    world: World, tmp_path: Path, changes: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A snapshot taken of one store is never loaded for another, whether that store's
    change log is shorter than the snapshot's cursor or longer (the row at the cursor
    differs)."""
    other_home = tmp_path / "other"
    other_home.mkdir()
    other = Safeguard.open(
        home=other_home, database_url=f"sqlite:///{other_home / 'other.db'}", actor="other"
    )
    other.banks.create("a")
    for _ in range(changes - 1):
        other.banks.add("a", {"pdq": f"{world.rng.getrandbits(256):064x}"})
    foreign = Matcher(other.db).save_snapshot(tmp_path / "snapshots")
    other.close()
    assert int(foreign.name) == changes
    with caplog.at_level(logging.WARNING, logger="safeguard.matching.snapshots"):
        m = Matcher(world.sg.db, snapshot_dir=tmp_path / "snapshots")
        answers = _answers(m, world.queries)
    assert m.status().source == "store"
    assert answers == _answers(Matcher(world.sg.db), world.queries)
    reason = "change log ends at" if changes > 100 else "not the one it was taken at"
    assert any("refused" in r.message and reason in r.message for r in caplog.records)


# checks of the snapshot files themselves, the same on both stores: run on SQLite only
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_damaged_newest_falls_back_to_an_older_snapshot(world: World, tmp_path: Path) -> None:
    m = Matcher(world.sg.db)
    older = m.save_snapshot(tmp_path)
    world.add("a", {"pdq": world.bases[1]})
    m.refresh()
    newer = m.save_snapshot(tmp_path)
    assert int(newer.name) > int(older.name)
    _damage_bit(newer)
    world.change_everything()
    joined = Matcher(world.sg.db, snapshot_dir=tmp_path)
    assert _answers(joined, world.queries) == _answers(Matcher(world.sg.db), world.queries)
    assert joined.status().snapshot_version == int(older.name)


# checks of the snapshot files themselves, the same on both stores: run on SQLite only
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_old_snapshots_are_pruned(world: World, tmp_path: Path) -> None:
    m = Matcher(world.sg.db)
    versions = []
    for i in range(4):
        world.add("b", {"pdq": world.bases[i]})
        m.refresh()
        versions.append(int(m.save_snapshot(tmp_path, keep=2).name))
    assert [v for v, _ in snapshots.list_snapshots(tmp_path)] == sorted(versions)[-2:][::-1]
    # the same version again is not written twice; keep=1 prunes to the newest
    again = m.save_snapshot(tmp_path, keep=1)
    assert int(again.name) == versions[-1]
    assert [p.name for _, p in snapshots.list_snapshots(tmp_path)] == [again.name]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


# checks of the snapshot files themselves, the same on both stores: run on SQLite only
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_job_writes_only_when_the_log_moved(world: World, tmp_path: Path) -> None:
    m = Matcher(world.sg.db, auto_refresh=False)
    job = snapshots.SnapshotJob(m, tmp_path / "snap", interval=3600)
    assert job.run_once() is None  # not loaded yet: nothing to write
    m.refresh()
    first = job.run_once()
    assert first is not None
    assert job.run_once() is None  # nothing moved
    world.add("a", {"pdq": world.bases[3]})
    assert job.run_once() is None  # committed, but this matcher has not applied it yet
    m.refresh()
    second = job.run_once()
    assert second is not None and int(second.name) > int(first.name)


def test_lookups_go_on_while_a_snapshot_is_written(db_url: str, home: Path, tmp_path: Path) -> None:
    rng = random.Random(3)
    sg = Safeguard.open(home=home, database_url=db_url, actor="test")
    sg.banks.create("big")
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(20_000)]
    sg.banks.import_records("big", [HashRecord({"pdq": h}) for h in hashes])
    m = Matcher(sg.db, auto_refresh=False)
    m.refresh()
    queries = [{"pdq": _near(rng, h, 5)} for h in hashes[:200]]
    stop = threading.Event()
    done: list[float] = []

    def lookups() -> None:
        i = 0
        while not stop.is_set():
            assert m.lookup(queries[i % len(queries)]).matched
            done.append(time.perf_counter())
            i += 1

    thread = threading.Thread(target=lookups)
    thread.start()
    try:
        time.sleep(0.2)
        t0 = time.perf_counter()
        m.save_snapshot(tmp_path)
        t1 = time.perf_counter()
        time.sleep(0.1)
    finally:
        stop.set()
        thread.join()
    during = [t for t in done if t0 <= t <= t1]
    assert during, f"no lookup finished during the {t1 - t0:.3f} s snapshot write"
    window = [t0, *during, t1]
    longest = max(b - a for a, b in zip(window, window[1:], strict=False))
    assert longest < 0.5, f"lookups stalled {longest:.3f} s"
    joined = Matcher(sg.db, snapshot_dir=tmp_path)
    assert _answers(joined, queries) == _answers(m, queries)
    sg.close()


def test_service_settings_read_the_snapshot_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_SNAPSHOT_DIR", str(tmp_path / "snap"))
    monkeypatch.setenv("SAFEGUARD_SNAPSHOT_INTERVAL", "60")
    s = ServiceSettings.from_env()
    assert s.snapshot_dir == tmp_path / "snap" and s.snapshot_interval == 60
    assert s.snapshot_keep == 2
    monkeypatch.setenv("SAFEGUARD_SNAPSHOT_INTERVAL", "0.1")
    with pytest.raises(ConfigError, match="SAFEGUARD_SNAPSHOT_INTERVAL"):
        ServiceSettings.from_env()
    monkeypatch.delenv("SAFEGUARD_SNAPSHOT_INTERVAL")
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("SAFEGUARD_SNAPSHOT_DIR", str(tmp_path / "file"))
    with pytest.raises(ConfigError, match="not a directory"):
        ServiceSettings.from_env()
    monkeypatch.delenv("SAFEGUARD_SNAPSHOT_DIR")
    assert ServiceSettings.from_env().snapshot_dir is None


def test_local_features_in_a_word_index_are_mapped_from_the_snapshot(
    db_url: str,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    train_images: list[Path],
    small_vocabulary: Path,
) -> None:
    """Local features searched by the word index are saved whole and memory-mapped by the
    next process (one copy per host), which then follows the log; a snapshot filed under
    another vocabulary is refused and the index is built from the store."""
    from PIL import Image

    from safeguard.index.vocabulary import Vocabulary, synthetic_corpus
    from safeguard.signals import local

    monkeypatch.setenv("SAFEGUARD_LOCAL_INDEX", "words")
    monkeypatch.setenv("SAFEGUARD_VOCABULARY", str(small_vocabulary))
    values, crops = [], []
    for p in train_images[:4]:
        with Image.open(p) as im:
            pixels = np.asarray(im.convert("RGB"))
            w, h = im.size
            crop = np.asarray(im.convert("RGB").crop((w // 10, h // 10, w - w // 10, h - h // 10)))
        values.append(local.extract(pixels))
        crops.append({"local": local.extract(crop)})
    snap = tmp_path / "snapshots"
    with Safeguard.open(home=home, database_url=db_url, actor="test") as sg:
        sg.banks.create("photos")
        cids = [
            sg.banks.add("photos", {"md5": f"{i:032x}"}, local=v).content_id
            for i, v in enumerate(values[:3])
        ]

        def found(m: Matcher) -> list[list[int]]:
            return [[x.content_id for x in r.matches] for r in m.lookup_many(crops)]

        first = Matcher(sg.db)
        assert found(first) == [[cids[0]], [cids[1]], [cids[2]], []]
        written = first.save_snapshot(snap)
        manifest = json.loads((written / "manifest.json").read_text())
        assert manifest["signal_types"]["local"]["kind"] == "words"

        same = Matcher(sg.db, snapshot_dir=snap)
        assert found(same) == found(first) and same.status().source == "snapshot"
        index = same._types["local"].index  # type: ignore[index]
        assert isinstance(index._base.descriptors, np.memmap)

        sg.banks.remove_content("photos", cids[0])
        added = sg.banks.add("photos", {"md5": "f" * 32}, local=values[3]).content_id
        joined = Matcher(sg.db, snapshot_dir=snap)
        assert found(joined) == found(Matcher(sg.db)) == [[], [cids[1]], [cids[2]], [added]]
        assert joined.status().source == "snapshot"

        other = tmp_path / "other.npz"
        corpus = synthetic_corpus(range(4_000_200, 4_000_204), variants=1)
        Vocabulary.train(corpus, branches=(2, 2)).save(other)
        monkeypatch.setenv("SAFEGUARD_VOCABULARY", str(other))
        refused = Matcher(sg.db, snapshot_dir=snap)
        assert found(refused) == [[], [cids[1]], [cids[2]], [added]]
        assert refused.status().source == "store"
