"""Feeds between two stores through the library: what the publisher appends, what the
subscriber checks, and that a bad page changes nothing.

The subscriber reads the publisher through `LocalPeer`, a stand-in for the HTTP client that
calls the publisher's `FeedService` and hands back the same JSON the route sends (the real
HTTP path between real processes is tests/exchange/test_two_servers.py)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from safeguard import Safeguard
from safeguard.access.people import Actor
from safeguard.act import EventInput
from safeguard.banks import HashRecord
from safeguard.config import Settings
from safeguard.errors import FeedRejected, NotFound
from safeguard.exchange import signing
from safeguard.exchange.sync import PeerClient, Position, verify
from tests.conftest import BACKENDS, temporary_database

ADMIN = Actor.operator("cli:test")
PEER = Actor.service("key:peer-b")


def pdq(n: int) -> str:
    """A PDQ hash per n, drawn at random from n: any two are about 128 bits apart."""
    return f"{random.Random(n).getrandbits(256):064x}"


@dataclass
class Pair:
    a: Safeguard
    b: Safeguard


@pytest.fixture(params=BACKENDS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pair]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        temporary_database(request.param, tmp_path / "a") as url_a,
        temporary_database(request.param, tmp_path / "b") as url_b,
    ):
        engines = []
        for name, url in (("a", url_a), ("b", url_b)):
            settings = Settings.from_env().with_(
                home=tmp_path / name / "home", database_url=url, actor="cli:test"
            )
            engines.append(Safeguard.open(settings))
        try:
            yield Pair(*engines)
        finally:
            for e in engines:
                e.close()


class LocalPeer(PeerClient):
    """The publisher's side called in-process, its answers round-tripped through JSON."""

    def __init__(self, publisher: Safeguard, tamper: Any = None) -> None:
        self.address = "local"
        self.publisher = publisher
        self.tamper = tamper

    def entries(self, feed: str, after: int, limit: int) -> Mapping[str, Any]:
        page = self.publisher.feeds_for(PEER).entries(feed, after=after, limit=limit)
        body = json.loads(json.dumps(page.to_json()))
        if self.tamper is not None:
            self.tamper(body["entries"])
        return body  # type: ignore[no-any-return]

    def send_opinions(self, feed: str, opinions: list[dict[str, object]]) -> Mapping[str, Any]:
        given = [(o["item"], o["opinion"], o["note"]) for o in opinions]
        n = self.publisher.feeds_for(PEER).record_opinions(feed, "key:peer-b", given)  # type: ignore[arg-type]
        return {"recorded": n}

    def close(self) -> None:
        pass


def subscribe(pair: Pair, *, may_block: bool = False, tamper: Any = None, page: int = 500):  # type: ignore[no-untyped-def]
    key = pair.a.feeds_for(ADMIN).key()["public_key"]
    pair.b.sources_for(ADMIN).subscribe(
        "a", "http://a.example", "shared", key, "env:UNUSED", may_block=may_block
    )
    syncer = pair.b.syncer_for(ADMIN)
    syncer.client = lambda address, api_key: LocalPeer(pair.a, tamper)
    syncer.page = page
    return syncer


def local_values(sg: Safeguard, bank: str = "peer-a") -> set[str]:
    return {v for c in sg.banks.iter_content(bank) for v in c.signals.values()}


def test_a_subscriber_holds_what_the_publisher_holds(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNUSED", "not read by the stand-in")
    a = pair.a
    a.create_bank("shared")
    for n in range(1, 8):
        a.banks.add("shared", {"pdq": pdq(n)})
    a.feeds_for(ADMIN).publish("shared", "shared")
    syncer = subscribe(pair, page=3)  # several pages
    report = syncer.sync("a")
    assert report.ok and report.entries == 7 and report.added == 7
    assert local_values(pair.b) == {pdq(n) for n in range(1, 8)}
    # provenance points at the publisher's feed and item
    first = next(iter(pair.b.banks.iter_content("peer-a")))
    assert first.source == "exchange:a" and first.external_id.startswith("shared:")

    # removals travel, imports too, and a sync with nothing new changes nothing
    items = {c.signals["pdq"]: c.id for c in a.banks.iter_content("shared")}
    a.banks.remove_content("shared", items[pdq(2)])
    a.banks.import_records("shared", [HashRecord({"pdq": pdq(n)}) for n in (20, 21)])
    report = syncer.sync("a")
    assert (report.added, report.removed) == (2, 1)
    assert local_values(pair.b) == {pdq(n) for n in (1, 3, 4, 5, 6, 7, 20, 21)}
    assert syncer.sync("a").entries == 0

    # a deleted bank: every item is removed from the feed
    a.banks.delete("shared")
    assert syncer.sync("a").removed == 8
    assert local_values(pair.b) == set()
    assert pair.b.sources_for(ADMIN).get("a").cursor == a.feeds_for(ADMIN).get("shared").head_seq


def test_opinions_travel_back_and_a_false_positive_stops_matching_here(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNUSED", "x")
    pair.a.create_bank("shared")
    for n in (1, 2):
        pair.a.banks.add("shared", {"pdq": pdq(n)})
    pair.a.feeds_for(ADMIN).publish("shared", "shared")
    syncer = subscribe(pair)
    syncer.sync("a")
    sources = pair.b.sources_for(ADMIN)
    sources.set_opinion("a", "disputed", item=1, note="a meme")
    local = {c.signals["pdq"]: c.id for c in pair.b.banks.iter_content("peer-a")}
    sources.set_opinion("a", "false_positive", content_id=local[pdq(2)])
    assert [o.sent for o in sources.my_opinions("a")] == [False, False]
    assert pair.b.match_signals({"pdq": pdq(2)}).matches == []  # off here at once
    assert pair.b.match_signals({"pdq": pdq(1)}).matches  # disputed still matches (holds)

    assert syncer.sync("a").opinions_sent == 2
    said = pair.a.feeds_for(ADMIN).opinions("shared")
    assert [(o.item, o.peer, o.opinion) for o in said] == [
        (1, "key:peer-b", "disputed"),
        (2, "key:peer-b", "false_positive"),
    ]
    assert said[0].note == "a meme"
    assert [o.sent for o in sources.my_opinions("a")] == [True, True]
    # an opinion on an item the feed never published is refused by the publisher
    with pytest.raises(NotFound, match="never published item 99"):
        pair.a.feeds_for(PEER).record_opinions("shared", "key:peer-b", [(99, "confirmed", "")])
    # changed back: on again
    sources.set_opinion("a", "confirmed", item=2)
    assert pair.b.match_signals({"pdq": pdq(2)}).matches


def _tampered(change: Any) -> Any:
    def tamper(entries: list[dict[str, Any]]) -> None:
        change(entries)

    return tamper


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda es: es[1]["signals"].update(pdq=pdq(99)), "entry 2 .*signature does not verify"),
        (lambda es: es.reverse(), "entry 3 .*out of order: entry 1 was expected"),
        (lambda es: es.pop(1), "entry 3 .*out of order: entry 2 was expected"),
        (lambda es: es[2].update(feed="other"), "entry 3 .*belongs to feed 'other'"),
        (lambda es: es[0].pop("signature"), "field 'signature' missing"),
        (lambda es: es[1]["signals"].update(pdq="zz"), "entry 2 .*signature"),
    ],
    ids=["changed", "reordered", "dropped", "other-feed", "unsigned", "broken-hash"],
)
def test_a_bad_page_is_refused_whole_naming_the_entry(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, change: Any, says: str
) -> None:
    monkeypatch.setenv("UNUSED", "x")
    pair.a.create_bank("shared")
    for n in (1, 2, 3):
        pair.a.banks.add("shared", {"pdq": pdq(n)})
    pair.a.feeds_for(ADMIN).publish("shared", "shared")
    syncer = subscribe(pair, tamper=_tampered(change))
    with pytest.raises(FeedRejected, match=says):
        syncer.sync("a")
    # nothing of the page applied, the cursor kept, the error kept on the source
    assert local_values(pair.b) == set()
    info = pair.b.sources_for(ADMIN).get("a")
    assert info.cursor == 0 and info.items == 0 and "entry" in info.last_error
    # the publisher's page itself is fine: without the tampering it applies
    syncer.client = lambda address, api_key: LocalPeer(pair.a)
    assert syncer.sync("a").added == 3
    assert pair.b.sources_for(ADMIN).get("a").last_error == ""


def test_entries_signed_by_another_key_or_replayed_are_refused(pair: Pair) -> None:
    pair.a.create_bank("shared")
    for n in (1, 2, 3):
        pair.a.banks.add("shared", {"pdq": pdq(n)})
    info = pair.a.feeds_for(ADMIN).publish("shared", "shared")
    entries = pair.a.feeds_for(PEER).entries("shared").entries
    start = Position("shared", info.public_key, 0, "")
    checked = verify(start, entries)
    assert [e.seq for e in checked] == [1, 2, 3]

    # a forger re-signs the entries with a key of their own: a key the subscriber never pinned
    forger = Ed25519PrivateKey.generate()
    forged = []
    for e in entries:
        e = dict(e, key_id=signing.key_id(forger.public_key()))
        e["signature"] = signing.sign(forger, e)
        forged.append(e)
    with pytest.raises(FeedRejected, match="entry 1 .*unknown key"):
        verify(start, forged)
    # ...and pinning the forger's key does not help with the real entries
    other = Position("shared", signing.public_hex(forger.public_key()), 0, "")
    with pytest.raises(FeedRejected, match="unknown key"):
        verify(other, entries)
    # a replay: entries already applied, served again after the cursor
    after_two = Position("shared", info.public_key, 2, checked[1].hash)
    with pytest.raises(FeedRejected, match="entry 1 .*already applied.*replayed"):
        verify(after_two, entries)
    assert [e.seq for e in verify(after_two, entries[2:])] == [3]
    # the right number after the cursor, but not chained to what was applied
    wrong_head = Position("shared", info.public_key, 2, "0" * 64)
    with pytest.raises(FeedRejected, match="entry 3 .*chain is broken"):
        verify(wrong_head, entries[2:])


def test_concurrent_catch_ups_append_each_change_once(pair: Pair) -> None:
    a = pair.a
    a.create_bank("shared")
    feeds = a.feeds_for(ADMIN)
    feeds.publish("shared", "shared")
    for n in range(1, 41):
        a.banks.add("shared", {"pdq": pdq(n)})
    errors: list[BaseException] = []

    def read() -> None:
        try:
            a.feeds_for(PEER).entries("shared")
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    page = feeds.entries("shared", limit=5000)
    assert [e["seq"] for e in page.entries] == list(range(1, 41))
    assert sorted(e["item"] for e in page.entries) == sorted(
        c.id for c in a.banks.iter_content("shared")
    )
    verify(Position("shared", page.public_key, 0, ""), page.entries)


@pytest.mark.parametrize("may_block", [False, True])
def test_a_peer_trusted_to_hold_never_blocks(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, may_block: bool
) -> None:
    """A rule that blocks on any match: a match in the bank of a hold-only source holds."""
    monkeypatch.setenv("UNUSED", "x")
    pair.a.create_bank("shared")
    pair.a.banks.add("shared", {"pdq": pdq(5)})
    pair.a.feeds_for(ADMIN).publish("shared", "shared")
    subscribe(pair, may_block=may_block).sync("a")
    b = pair.b
    from safeguard.rules import RuleStore

    RuleStore(b.db, ADMIN).apply(
        "rules:\n  - name: block-any\n    when: {match: {}}\n    then: {verdict: block}\n",
        "test",
    )
    b.active_rules(max_age=0)
    event = EventInput.from_json({"kind": "upload", "account_id": "u1", "hashes": {"pdq": pdq(5)}})
    verdict = b.events_for(ADMIN).submit(event)
    assert verdict.rules == ("block-any",)
    assert verdict.verdict == ("block" if may_block else "hold")
