"""The evidence library where the CLI does not reach: discarding a case's evidence, the
case's clock for media preserved late, the worker's purge task, the periods (calendar
years) and their settings, and key files that are wrong in each way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from safeguard.access.people import Actor
from safeguard.config import Settings
from safeguard.errors import CaseNotFound, ConfigError, Forbidden, InvalidRequest
from safeguard.evidence import (
    EvidenceConfig,
    EvidenceStore,
    KeyRing,
    Period,
    PurgeReport,
    RetentionPolicy,
    key_id_of,
    new_key_line,
    purge,
    purge_task,
)
from safeguard.store import Database
from tests.evidence.helpers import audit_rows, open_case

SPECIALIST = Actor("user:spec", frozenset({"child_safety"}), user="spec")


@pytest.fixture
def settings(db_url: str, home: Path) -> Settings:
    return Settings.from_env().with_(home=home, database_url=db_url, actor="test")


@pytest.fixture
def config(home: Path) -> EvidenceConfig:
    return EvidenceConfig(directory=home / "evidence", key=new_key_line().split(":", 1)[1])


def test_discard_deletes_a_cases_evidence_at_once_except_what_a_hold_keeps(
    store_db: Database, settings: Settings, config: EvidenceConfig, case_id: int
) -> None:
    store = EvidenceStore(store_db, settings, SPECIALIST, config=config)
    kept, gone = (store.preserve(case_id, f"benign bytes {i}".encode(), "x.bin") for i in (1, 2))
    other = store.preserve(open_case(store_db, "acct-2"), b"another case", "y.bin")
    store.hold(kept.id, note="court order")
    with pytest.raises(InvalidRequest, match="say why"):
        store.discard_case(case_id, " ")
    report = store.discard_case(case_id, "decided not_abuse")
    assert report.deleted == [gone.id] and report.held == [kept.id] and report.failed == []
    assert not (config.directory / gone.path).exists()
    assert (config.directory / kept.path).exists() and (config.directory / other.path).exists()
    (deletion,) = audit_rows(store_db, "evidence.delete")
    assert deletion.subject == f"evidence:{gone.id}" and deletion.actor == "user:spec"
    assert deletion.detail["reason"] == "discarded: decided not_abuse"
    assert [e.id for e in store.list()] == [kept.id, other.id]
    assert store.read(kept.id) == b"benign bytes 1"


def test_media_preserved_after_the_clock_started_takes_the_cases_clock(
    store_db: Database, settings: Settings, config: EvidenceConfig, case_id: int
) -> None:
    store = EvidenceStore(store_db, settings, SPECIALIST, config=config)
    store.preserve(case_id, b"first", "a.bin")
    reported = datetime(2027, 5, 4, 12, 0, tzinfo=UTC)
    assert store.start_clock(case_id, "ncmec_report", reported) == 1
    late = store.preserve(case_id, b"second", "b.bin")
    assert late.clock_reason == "ncmec_report"
    assert late.retain_until == datetime(2028, 5, 4, 12, 0, tzinfo=UTC)
    with pytest.raises(CaseNotFound):
        store.preserve(999_999, b"x", "c.bin")
    with pytest.raises(CaseNotFound):
        store.start_clock(999_999, "decision", reported)
    with pytest.raises(InvalidRequest, match="empty"):
        store.preserve(case_id, b"", "d.bin")


def test_the_worker_task_purges_as_of_the_time_it_is_given(
    store_db: Database,
    settings: Settings,
    config: EvidenceConfig,
    case_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFEGUARD_EVIDENCE_DIR", str(config.directory))
    monkeypatch.setenv("SAFEGUARD_RETENTION_DECISION_DAYS", "30")
    store = EvidenceStore(store_db, settings, SPECIALIST, config=config)
    item = store.preserve(case_id, b"benign", "a.bin")
    # the decision period comes from the environment when the store is given no config
    EvidenceStore(store_db, settings, SPECIALIST).start_clock(
        case_id, "decision", datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert store.get(item.id).retain_until == datetime(2027, 1, 31, tzinfo=UTC)
    task = purge_task(settings)
    early, due = task(datetime(2027, 1, 30, tzinfo=UTC)), task(datetime(2027, 2, 1, tzinfo=UTC))
    assert isinstance(early, PurgeReport) and isinstance(due, PurgeReport)
    assert early.deleted == [] and due.deleted == [item.id]
    (deletion,) = audit_rows(store_db, "evidence.delete")
    assert deletion.actor == "system:retention"
    # nobody without the role purges
    moderator = Actor("user:mod", frozenset({"moderator"}), user="mod")
    with pytest.raises(Forbidden):
        purge(store_db, settings, datetime(2030, 1, 1, tzinfo=UTC), actor=moderator)


def test_periods_are_calendar_years_and_days_and_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    year = Period(years=1)
    # across a 29 February a year is still a calendar year, never 365 days
    assert year.after(datetime(2027, 3, 1, tzinfo=UTC)) == datetime(2028, 3, 1, tzinfo=UTC)
    assert year.after(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(2029, 3, 1, tzinfo=UTC)
    assert Period(days=90).after(datetime(2027, 1, 1, tzinfo=UTC)) == datetime(
        2027, 4, 1, tzinfo=UTC
    )
    default = RetentionPolicy.from_env()
    assert default.to_json() == {
        "ncmec_report": "1 year",
        "nca_report": "1 year",
        "decision": "90 days",
    }
    monkeypatch.setenv("SAFEGUARD_RETENTION_NCA_DAYS", "730")
    monkeypatch.setenv("SAFEGUARD_RETENTION_DECISION_DAYS", "14")
    changed = RetentionPolicy.from_env()
    assert changed.nca_report == Period(days=730) and changed.decision == Period(days=14)
    assert changed.ncmec_report == Period(years=1)  # the law's period is not a setting
    monkeypatch.setenv("SAFEGUARD_RETENTION_NCA_DAYS", "soon")
    with pytest.raises(ConfigError, match="SAFEGUARD_RETENTION_NCA_DAYS"):
        RetentionPolicy.from_env()
    with pytest.raises(InvalidRequest, match="unknown clock reason"):
        default.period("forever")


def test_key_rings_from_a_key_or_a_file_and_each_mistake_named(tmp_path: Path) -> None:
    line = new_key_line()
    key_id, encoded = line.split(":", 1)
    assert len(key_id) == 12 and key_id == key_id_of(KeyRing.load(encoded, None).keys[key_id])
    assert encoded not in key_id
    second = new_key_line()
    f = tmp_path / "keys.txt"
    f.write_text(f"# evidence keys\n{line}\n\n{second}\n")
    ring = KeyRing.load(None, f)
    assert ring.current_id == second.split(":")[0] and len(ring.keys) == 2
    assert encoded not in repr(ring)  # secrets never show in a repr

    cases = {
        "no-colon": ("just-a-key\n", "expected `key_id:base64key`"),
        "bad-base64": ("k1:not base64!\n", "not a base64 key"),
        "short": ("k1:c2hvcnQ=\n", "must be 32 bytes"),
        "twice": (f"{line}\n{line}\n", "appears twice"),
        "empty": ("# nothing\n", "holds no key"),
    }
    for name, (text, problem) in cases.items():
        bad = tmp_path / f"{name}.txt"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=problem):
            KeyRing.load(None, bad)
    with pytest.raises(ConfigError, match="cannot read"):
        KeyRing.load(None, tmp_path / "absent.txt")
    with pytest.raises(ConfigError, match="not both"):
        KeyRing.load(encoded, f)
    with pytest.raises(ConfigError, match="new-key"):
        KeyRing.load(None, None)
