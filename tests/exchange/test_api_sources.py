"""Lists from hash-sharing services through python-threatexchange's SignalExchangeAPI.

NCMEC's hash sharing cannot be reached from here, so its real client (threatexchange's
`NCMECSignalExchangeAPI`) talks to a local stand-in that speaks the same protocol
(ncmec_standin.py): the first sync fetches everything, the next only what changed since its
checkpoint (additions and deletions); a service that fails half way leaves the batches
already applied with their checkpoint, and the next sync resumes there without duplicates.
threatexchange's local-file format goes through the CLI."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeguard import Safeguard
from safeguard.access.people import Actor
from safeguard.errors import InvalidRequest, PeerError
from tests.conftest import Cli
from tests.exchange.ncmec_standin import Entry, NcmecStandIn, now

ADMIN = Actor.operator("cli:test")


def pdq(n: int) -> str:
    return f"{random.Random(n).getrandbits(256):064x}"


def md5(n: int) -> str:
    return f"{random.Random(-n).getrandbits(128):032x}"


@pytest.fixture
def standin() -> Iterator[NcmecStandIn]:
    s = NcmecStandIn(page=2)
    yield s
    s.close()


def held(sg: Safeguard, bank: str = "peer-ncmec") -> dict[str | None, dict[str, str]]:
    return {c.external_id: c.signals for c in sg.banks.iter_content(bank)}


def test_ncmec_lists_are_fetched_once_then_only_their_changes(
    sg: Safeguard, standin: NcmecStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NCMEC_CREDENTIALS", "esp:secret")
    # six entries in one second: the client narrows its window to that second and pages
    # through it two entries at a time
    t0 = now() - 100
    standin.entries = [Entry(f"e{n}", t0, pdq=pdq(n), md5=md5(n)) for n in range(6)]
    standin.fail_from = 4  # the page starting at the fifth entry fails (500, after retries)
    sources = sg.sources_for(ADMIN)
    info = sources.subscribe_api(
        "ncmec",
        "ncmec",
        {"environment": "Industry"},
        credential="env:NCMEC_CREDENTIALS",
        address=standin.address,
    )
    assert (info.kind, info.api, info.may_block) == ("api", "ncmec", False)
    syncer = sg.syncer_for(ADMIN)

    # the service goes away half way: the pages before it are kept, with their checkpoint
    with pytest.raises(PeerError, match="ncmec"):
        syncer.sync("ncmec")
    kept = held(sg)
    assert sorted(kept) == ["42-e0", "42-e1", "42-e2", "42-e3"]
    assert kept["42-e0"] == {"md5": md5(0), "pdq": pdq(0)}
    assert "ncmec" in sources.get("ncmec").last_error

    # back: the next sync resumes from the checkpoint, nothing twice
    standin.fail_from = None
    served = standin.served
    report = syncer.sync("ncmec")
    assert report.ok and report.added == 2
    assert sorted(held(sg)) == [f"42-e{n}" for n in range(6)]
    assert standin.served - served < 20  # resumed, not fetched again from the start

    # later: one new entry, one deleted at the service; only those travel
    after = sources.get("ncmec")
    row_checkpoint = _checkpoint(sg, "ncmec")
    assert row_checkpoint["paging_info"] is None  # a completed fetch
    stamp = int(row_checkpoint["get_entries_max_ts"]) + 1
    standin.entries.append(Entry("e9", stamp, pdq=pdq(9)))
    standin.entries.append(Entry("e2", stamp, deleted=True))
    while now() - 5 <= stamp:  # the client asks only for what is over 5 s old
        time.sleep(0.25)
    report = syncer.sync("ncmec")
    assert (report.added, report.removed) == (1, 1)
    final = held(sg)
    assert sorted(final) == ["42-e0", "42-e1", "42-e3", "42-e4", "42-e5", "42-e9"]
    assert final["42-e9"] == {"pdq": pdq(9)}
    assert sources.get("ncmec").items == 6 and after.items == 6
    # provenance: where each item came from
    item = next(c for c in sg.banks.iter_content("peer-ncmec") if c.external_id == "42-e9")
    assert item.source == "exchange:ncmec" and item.tags == ["A1"]


def _checkpoint(sg: Safeguard, name: str) -> dict[str, object]:
    from sqlalchemy import select

    from safeguard.store.exchange_tables import SourceRow

    with sg.db.transaction() as s:
        value = s.scalar(select(SourceRow.checkpoint).where(SourceRow.name == name))
    assert isinstance(value, dict)
    return value


def test_wrong_credentials_and_settings_are_named(
    sg: Safeguard, standin: NcmecStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = sg.sources_for(ADMIN)
    with pytest.raises(InvalidRequest, match="unknown hash-sharing service 'nope'"):
        sources.subscribe_api("x", "nope", {})
    with pytest.raises(InvalidRequest, match="environment"):
        sources.subscribe_api("x", "ncmec", {})  # its one required setting
    with pytest.raises(InvalidRequest, match="ncmec"):
        sources.subscribe_api("x", "ncmec", {"environment": "Nowhere"})
    monkeypatch.setenv("NCMEC_CREDENTIALS", "esp:wrong")
    sources.subscribe_api(
        "ncmec",
        "ncmec",
        {"environment": "Industry"},
        credential="env:NCMEC_CREDENTIALS",
        address=standin.address,
    )
    standin.entries = [Entry("e1", now() - 60, pdq=pdq(1))]
    with pytest.raises(PeerError, match="401"):
        sg.syncer_for(ADMIN).sync("ncmec")
    assert held(sg) == {}


def test_a_local_list_in_threatexchange_format_through_the_cli(cli: Cli, tmp_path: Path) -> None:
    listed = tmp_path / "list.txt"
    listed.write_text("".join(f"pdq {pdq(n)}\n" for n in range(5)) + f"video_md5 {md5(1)}\n")
    info = cli.json(
        "exchange",
        "subscribe-api",
        "partner",
        "--api",
        "local_file",
        "--config",
        json.dumps({"filename": str(listed)}),
        "--bank",
        "partner-list",
    )
    assert info["kind"] == "api" and info["bank"] == "partner-list"  # type: ignore[index]
    for _ in range(2):  # a second sync finds the same records and adds nothing
        result = cli("exchange", "sync", "partner", "--json")
        assert result.exit_code == 0, result.output
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert reports[-1]["ok"] and reports[-1]["added"] == 0
    [source] = cli.json("exchange", "sources")  # type: ignore[misc]
    assert source["items"] == 6 and source["last_error"] == ""
    bank = cli.json("bank", "show", "partner-list")
    assert bank["content_count"] == 6  # type: ignore[index]

    bad = cli("exchange", "subscribe-api", "x", "--api", "local_file", "--config", "{nope")
    assert bad.exit_code != 0 and "not JSON" in bad.output


def test_the_worker_asks_a_service_gently_and_peers_often(sg: Safeguard, tmp_path: Path) -> None:
    listed = tmp_path / "list.txt"
    listed.write_text(f"pdq {pdq(1)}\n")
    sg.sources_for(ADMIN).subscribe_api("partner", "local_file", {"filename": str(listed)})
    syncer = sg.syncer_for(ADMIN)
    assert [r.added for r in syncer.sync_all(api_every=300)] == [1]
    listed.write_text(f"pdq {pdq(1)}\npdq {pdq(2)}\n")
    assert syncer.sync_all(api_every=300) == []  # synced a moment ago: left alone
    assert [r.added for r in syncer.sync_all(api_every=0)] == [1]
    assert [r.added for r in syncer.sync_all()] == [0]  # `exchange sync` asks every time
