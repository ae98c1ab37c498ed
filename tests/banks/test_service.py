"""Banks through the Python API, on SQLite and PostgreSQL: lifecycle, provenance, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from safeguard import (
    BankExists,
    BankNotFound,
    ContentNotFound,
    InvalidRequest,
    InvalidSignal,
    Provenance,
    Safeguard,
)
from safeguard.store import Change

PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _flip(h: str, bits: int) -> str:
    v = int(h, 16)
    for b in range(bits):
        v ^= 1 << (b * 7 % 256)
    return f"{v:064x}"


def test_bank_lifecycle(sg: Safeguard) -> None:
    info = sg.banks.create("known", pdq_threshold=20, description="test list")
    assert (info.name, info.pdq_threshold, info.negative, info.enabled) == (
        "known",
        20,
        False,
        True,
    )
    with pytest.raises(BankExists):
        sg.banks.create("known")
    assert sg.banks.rename("known", "known-2").name == "known-2"
    with pytest.raises(BankNotFound):
        sg.banks.get("known")
    assert sg.banks.set_enabled("known-2", False).enabled is False
    assert sg.banks.update("known-2", pdq_threshold=40).pdq_threshold == 40
    assert [b.name for b in sg.banks.list()] == ["known-2"]
    assert sg.banks.delete("known-2") == 0
    assert sg.banks.list() == []


@pytest.mark.parametrize("bad", [-1, 129, 3.5, True])
def test_bad_thresholds_rejected(sg: Safeguard, bad: object) -> None:
    with pytest.raises(InvalidRequest):
        sg.banks.create("b", pdq_threshold=bad)  # type: ignore[arg-type]
    assert sg.banks.list() == []


def test_thresholds_are_kept_per_signal_type(sg: Safeguard) -> None:
    info = sg.banks.create("known", thresholds={"hash_pdq": 20, "local": 50})  # an alias too
    # every non-exact type has one: those not named keep their default (vpdq: 20)
    assert info.thresholds == {"pdq": 20, "local": 50, "vpdq": 20} and info.pdq_threshold == 20
    # an update changes the types it names, no others; the change log says from what to what
    assert sg.banks.update("known", thresholds={"local": 60}).thresholds == {
        "pdq": 20,
        "local": 60,
        "vpdq": 20,
    }
    last = sg.changes(0, 100)[-1]
    assert last.action == "bank.update" and last.detail["thresholds"]["to"]["local"] == 60
    # a bank that names no type uses each type's default
    assert sg.banks.create("plain").thresholds == {"pdq": 31, "local": 80, "vpdq": 20}
    for bad, message in (
        ({"md5": 3}, "md5 matches identical values only: it takes no threshold"),
        ({"nope": 3}, "unknown signal type 'nope'"),
        ({"local": 81}, "local threshold must be between 0 and 80, got 81"),
    ):
        with pytest.raises(InvalidRequest, match=message):
            sg.banks.update("known", thresholds=bad)
    assert sg.banks.get("known").thresholds == {"pdq": 20, "local": 60, "vpdq": 20}


def test_content_provenance_and_idempotent_add(sg: Safeguard, train_images: list[Path]) -> None:
    sg.banks.create("known")
    prov = Provenance(source="NCMEC", external_id="X-1", note="stand-in", tags=("a", "b"))
    fs, first = sg.add_file("known", train_images[0], prov)
    assert first.created
    _, again = sg.add_file("known", train_images[0], prov)
    assert again == type(first)(first.content_id, created=False)
    c = sg.banks.get_content(first.content_id)
    assert (c.source, c.external_id, c.note, c.tags, c.added_by) == (
        "NCMEC",
        "X-1",
        "stand-in",
        ["a", "b"],
        "test",
    )
    assert c.signals == {"md5": fs.md5, "pdq": fs.pdq, "sha256": fs.sha256}
    assert c.added_at.tzinfo is not None
    # a listed hash equal to the file's PDQ is already present
    assert not sg.banks.add("known", {"pdq": fs.pdq}).created
    with pytest.raises(InvalidSignal):
        sg.banks.add("known", {"pdq": "xyz"})
    sg.banks.remove_content("known", first.content_id)
    with pytest.raises(ContentNotFound):
        sg.banks.get_content(first.content_id)


def test_per_bank_thresholds_and_disabled_banks(sg: Safeguard) -> None:
    sg.banks.create("strict", pdq_threshold=10)
    sg.banks.create("loose", pdq_threshold=40)
    sg.banks.add("strict", {"pdq": PDQ_A})
    sg.banks.add("loose", {"pdq": PDQ_A})
    hits = sg.match_signals({"pdq": _flip(PDQ_A, 20)}).matches
    assert [(m.bank, m.distance) for m in hits] == [("loose", 20)]
    assert {m.bank for m in sg.match_signals({"pdq": _flip(PDQ_A, 10)}).matches} == {
        "strict",
        "loose",
    }
    sg.banks.set_enabled("loose", False)
    assert sg.match_signals({"pdq": _flip(PDQ_A, 20)}).matches == []
    sg.banks.update("strict", pdq_threshold=25)
    assert [m.bank for m in sg.match_signals({"pdq": _flip(PDQ_A, 20)}).matches] == ["strict"]


def test_negative_bank_suppresses_and_says_so(sg: Safeguard) -> None:
    listed = PDQ_A
    meme = _flip(PDQ_A, 24)  # a known false positive that collides with the listed hash
    sg.banks.create("known", pdq_threshold=31)
    sg.banks.create("false-positives", pdq_threshold=8, negative=True)
    known_id = sg.banks.add("known", {"pdq": listed}, Provenance(external_id="L1")).content_id
    sg.banks.add("false-positives", {"pdq": meme})
    # the meme itself: matches "known" at 24 but the negative bank at 0 -> suppressed
    r = sg.match_signals({"pdq": meme})
    assert r.matches == []
    assert [(m.bank, m.content_id, m.distance) for m in r.suppressed] == [("known", known_id, 24)]
    assert [m.bank for m in r.negative_matches] == ["false-positives"]
    # the listed image itself is closer to the listed hash than to the meme: still matches
    r = sg.match_signals({"pdq": listed})
    assert [(m.bank, m.external_id) for m in r.matches] == [("known", "L1")]
    assert r.suppressed == []
    # an exact MD5 match is never suppressed by a PDQ-only negative match
    md5 = "0123456789abcdef0123456789abcdef"
    sg.banks.add("known", {"md5": md5})
    r = sg.match_signals({"pdq": meme, "md5": md5})
    assert [m.signal_type for m in r.matches] == ["md5"]
    # but a file known to be benign by its digest suppresses everything
    sg.banks.add("false-positives", {"md5": md5})
    r = sg.match_signals({"pdq": meme, "md5": md5})
    assert r.matches == [] and {m.signal_type for m in r.suppressed} == {"md5", "pdq"}


def test_change_log_records_every_change_and_is_append_only(sg: Safeguard) -> None:
    sg.banks.create("known")
    cid = sg.banks.add("known", {"pdq": PDQ_A}).content_id
    sg.banks.rename("known", "renamed")
    sg.banks.remove_content("renamed", cid)
    sg.banks.delete("renamed")
    with sg.db.transaction() as s:
        rows = s.scalars(select(Change).order_by(Change.id)).all()
        actions = [(r.action, r.actor) for r in rows]
    assert actions == [
        ("bank.create", "test"),
        ("content.add", "test"),
        ("bank.rename", "test"),
        ("content.remove", "test"),
        ("bank.delete", "test"),
    ]
    for statement in ("UPDATE change_log SET actor = 'x'", "DELETE FROM change_log"):
        with pytest.raises(DBAPIError), sg.db.transaction() as s:
            s.execute(text(statement))
    assert len(rows) == sg.banks.change_head() - rows[0].id + 1


def test_failed_transaction_leaves_nothing(sg: Safeguard) -> None:
    sg.banks.create("known")
    with pytest.raises(RuntimeError), sg.db.transaction() as s:
        s.execute(
            text(
                "INSERT INTO banks (name, description, negative, enabled, "
                "created_at, created_by, updated_at) VALUES ('half', '', false, true, "
                "CURRENT_TIMESTAMP, 'x', CURRENT_TIMESTAMP)"
            )
        )
        raise RuntimeError("fail half way")
    assert [b.name for b in sg.banks.list()] == ["known"]
