"""Background bank imports (safeguard.banks.imports) on SQLite and PostgreSQL: a list is
imported on a thread, all or nothing, with its progress and outcome in `bank_imports`; a bad
list fails naming its lines; the uploaded file is always deleted; a row left running by a
stopped server reads as failed; entries list newest first, a page at a time."""

from __future__ import annotations

import io
import random
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from safeguard import InvalidRequest, Provenance, Safeguard
from safeguard.banks import imports
from safeguard.banks.imports import STOPPED, ImportJobs, save_upload
from safeguard.errors import BankNotFound, NotFound
from safeguard.store.models import utcnow
from safeguard.store.web_tables import BankImport


def _hashes(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.getrandbits(256):064x}" for _ in range(n)]


def _csv(path: Path, hashes: list[str]) -> Path:
    path.write_text(
        "signal_type,signal_value,external_id\n"
        + "".join(f"pdq,{h},x{i}\n" for i, h in enumerate(hashes))
    )
    return path


def _count(sg: Safeguard, bank: str) -> int:
    return sg.banks.get(bank).content_count


def test_a_list_is_imported_in_the_background_and_its_report_kept(
    sg: Safeguard, tmp_path: Path
) -> None:
    sg.banks.create("known")
    hashes = _hashes(3000, 1)
    sg.banks.add("known", {"pdq": hashes[0]}, Provenance(source="earlier"))
    path = _csv(tmp_path / "upload.tmp", [*hashes, hashes[5]])  # one already in, one twice
    jobs = ImportJobs(sg)
    job_id = jobs.start("known", path, None, "user:ada", file_name="partner list.csv")
    job = jobs.wait(job_id, timeout=120)
    assert job.state == "done", job.error
    assert job.fmt == "csv"  # from the name it was uploaded as
    assert job.report is not None
    r = job.report
    assert (r.lines, r.added, r.already_present, r.duplicates_in_file) == (3001, 2999, 1, 1)
    assert (job.records, job.done, job.total) == (3001, 2999, 2999)
    assert "2,999 added" in job.message and job.to_json()["state"] == "done"
    assert job.finished_at is not None and job.started_by == "user:ada"
    assert not path.exists()
    assert _count(sg, "known") == 3000
    newest = sg.banks.content_page("known", newest_first=True, limit=1)[0]
    assert newest.added_by == "user:ada" and newest.source == "partner list.csv"
    assert [j.id for j in jobs.recent("known")] == [job_id]
    assert jobs.recent("other") == []


def test_a_bad_line_fails_the_import_naming_it_and_adds_nothing(
    sg: Safeguard, tmp_path: Path
) -> None:
    sg.banks.create("known")
    lines = [f'{{"signal_type": "pdq", "signal_value": "{h}"}}' for h in _hashes(50, 2)]
    lines[6] = '{"signal_type": "pdq", "signal_value": "not a hash"}'
    path = tmp_path / "tmpXYZ"
    path.write_text("\n".join(lines) + "\n")
    jobs = ImportJobs(sg)
    job = jobs.wait(jobs.start("known", path, "jsonl", "user:ada", file_name="feed.jsonl"), 60)
    assert job.state == "failed" and job.report is None
    assert "line 7" in job.error and "nothing was imported" in job.error
    assert job.error.startswith("feed.jsonl:") and str(path) not in job.error
    assert job.message.startswith("failed: feed.jsonl")
    assert not path.exists()
    assert _count(sg, "known") == 0


def test_an_import_that_cannot_start_deletes_its_file(sg: Safeguard, tmp_path: Path) -> None:
    sg.banks.create("known")
    jobs = ImportJobs(sg)
    path = _csv(tmp_path / "a.csv", _hashes(3, 3))
    with pytest.raises(BankNotFound):
        jobs.start("nope", path, None, "user:ada")
    assert not path.exists()
    path = _csv(tmp_path / "b.csv", _hashes(3, 3))
    with pytest.raises(InvalidRequest, match="unknown hash-list format"):
        jobs.start("known", path, "xml", "user:ada")
    assert not path.exists()
    with sg.db.transaction() as s:
        assert s.scalars(select(BankImport)).all() == []
    with pytest.raises(NotFound):
        jobs.get(12345)


def test_an_empty_list_fails_with_the_reason(sg: Safeguard, tmp_path: Path) -> None:
    sg.banks.create("known")
    path = tmp_path / "x"
    path.write_text("# nothing here\n")
    jobs = ImportJobs(sg)
    job = jobs.wait(jobs.start("known", path, "txt", "user:ada", file_name="empty.txt"), 60)
    assert job.state == "failed" and "no hash-list entries" in job.error
    assert job.error.startswith("empty.txt")


def test_progress_is_written_to_the_row_while_the_import_runs(
    sg: Safeguard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any server process reads progress from the row: on PostgreSQL it moves while the
    import writes (on SQLite the import's transaction holds the only write lock, and the
    process running it reports from memory)."""
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 0.0)
    sg.banks.create("known")
    path = _csv(tmp_path / "big.csv", _hashes(30_000, 4))
    jobs = ImportJobs(sg)
    job_id = jobs.start("known", path, None, "user:ada")
    seen: set[tuple[str, int, int]] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with sg.db.transaction() as s:
            row = s.get(BankImport, job_id)
            assert row is not None
            seen.add((row.state, row.done, row.records))
            if row.state != "running":
                break
        time.sleep(0.005)
    job = jobs.wait(job_id, 10)
    assert job.state == "done" and job.done == job.total == 30_000
    running = {(d, n) for state, d, n in seen if state == "running"}
    assert any(n == 30_000 for _, n in running), seen  # the list was read and counted
    if sg.db.engine.dialect.name == "postgresql":
        assert any(0 < d < 30_000 for d, _ in running), seen


def test_a_running_row_left_by_a_stopped_server_reads_failed(sg: Safeguard) -> None:
    sg.banks.create("known")
    now = utcnow()
    with sg.db.write_transaction() as s:
        for minutes in (11, 2):
            s.add(
                BankImport(
                    bank_name="known",
                    file_name=f"{minutes}.csv",
                    fmt="csv",
                    state="running",
                    total=0,
                    done=0,
                    records=0,
                    report={"progress_at": (now - timedelta(minutes=minutes)).isoformat()},
                    error="",
                    started_by="user:ada",
                    started_at=now - timedelta(minutes=30),
                )
            )
    jobs = ImportJobs(sg)
    by_name = {j.file_name: j for j in jobs.recent("known")}
    stale, fresh = by_name["11.csv"], by_name["2.csv"]
    assert stale.state == "failed" and stale.error == STOPPED
    assert fresh.state == "running" and fresh.error == ""
    assert jobs.get(stale.id).message == f"failed: {STOPPED}"


def test_save_upload_copies_within_the_limit(tmp_path: Path) -> None:
    data = b"pdq " + b"0" * 64 + b"\n"
    path = save_upload(io.BytesIO(data * 3), "list.txt", limit=1000)
    try:
        assert path.read_bytes() == data * 3 and path.suffix == ".txt"
    finally:
        path.unlink()
    before = set(Path(path.parent).glob("safeguard-import-*"))
    with pytest.raises(InvalidRequest, match="upload limit of 100 bytes"):
        save_upload(io.BytesIO(data * 3), "list.txt", limit=100)
    with pytest.raises(InvalidRequest, match="empty"):
        save_upload(io.BytesIO(b""), "list.txt", limit=100)
    assert set(Path(path.parent).glob("safeguard-import-*")) == before


def test_entries_are_listed_newest_first_a_page_at_a_time(sg: Safeguard) -> None:
    sg.banks.create("a")
    sg.banks.create("b")
    ids = []
    for i, h in enumerate(_hashes(7, 5)):
        ids.append(sg.banks.add("a" if i != 3 else "b", {"pdq": h}).content_id)
    in_a = [cid for i, cid in enumerate(ids) if i != 3]
    first = sg.banks.content_page("a", newest_first=True, limit=4)
    assert [c.id for c in first] == in_a[::-1][:4]
    rest = sg.banks.content_page("a", newest_first=True, before=first[-1].id, limit=4)
    assert [c.id for c in rest] == in_a[::-1][4:]
    assert sg.banks.content_page("a", newest_first=True, before=rest[-1].id, limit=50) == []
    with pytest.raises(BankNotFound):
        sg.banks.content_page("c", newest_first=True)
