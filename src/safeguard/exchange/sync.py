"""Sync: read a peer's feed from where this instance stopped, check every entry, apply.

One sync of one source: send the opinions not yet sent, then read pages of entries after
the source's cursor until the feed is drained. Each page is checked whole before anything
of it is applied (`verify`): every entry must be of the subscribed feed, signed by the
pinned key, numbered next, chained to the entry before, with valid signals. A page that
fails is refused whole, with an error naming the first bad entry, and the source keeps its
cursor. A page that passes is applied in one transaction with the source's new cursor, so a
sync killed at any point resumes where the last committed page ended: nothing twice,
nothing skipped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.banks.records import Provenance
from safeguard.banks.service import BankService
from safeguard.config import Settings
from safeguard.errors import (
    Conflict,
    ContentNotFound,
    FeedRejected,
    PeerError,
    SafeguardError,
)
from safeguard.exchange import signing
from safeguard.exchange.records import SourceInfo, SyncReport
from safeguard.exchange.sources import SourceService, read_credential
from safeguard.signals import validate_signals
from safeguard.store import Database
from safeguard.store.exchange_tables import ApiReceivedRow, MyOpinionRow, ReceivedRow, SourceRow
from safeguard.store.models import utcnow

log = logging.getLogger("safeguard.exchange")

#: entries asked for per page
PAGE = 500
_FIELDS = {
    "feed": str,
    "seq": int,
    "op": str,
    "item": int,
    "signals": dict,
    "provenance": dict,
    "at": str,
    "prev": str,
    "hash": str,
    "key_id": str,
    "signature": str,
}


@dataclass(frozen=True)
class Entry:
    """One checked entry, ready to apply."""

    seq: int
    op: str
    item: int
    signals: dict[str, str]
    provenance: dict[str, object]
    hash: str


@dataclass(frozen=True)
class Position:
    """Where a source is: the feed, the pinned key, the last entry applied."""

    feed: str
    public_key: str
    cursor: int
    head_hash: str


def verify(position: Position, entries: Sequence[object]) -> list[Entry]:
    """The page's entries checked in order against `position` (FeedRejected naming the
    first bad one; then none of them may be applied)."""
    key = signing.load_public(position.public_key)
    pinned = signing.key_id(key)
    seq, prev = position.cursor, position.head_hash
    out = []
    for n, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise FeedRejected(f"entry {n + 1} of the page is not an object", None)
        where = f"entry {raw.get('seq')!r}"
        for name, kind in _FIELDS.items():
            value = raw.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise FeedRejected(f"{where}: field {name!r} missing or not {kind.__name__}", None)
        e: dict[str, Any] = raw
        n_seq = e["seq"]
        where = f"entry {n_seq} of feed {position.feed!r}"
        if e["feed"] != position.feed:
            raise FeedRejected(f"{where} says it belongs to feed {e['feed']!r}", n_seq)
        if e["key_id"] != pinned:
            raise FeedRejected(
                f"{where} is signed by unknown key {e['key_id']!r} (the pinned key is {pinned})",
                n_seq,
            )
        if n_seq <= seq:
            raise FeedRejected(
                f"{where} was already applied (this source is at entry {seq}): a replayed entry",
                n_seq,
            )
        if n_seq != seq + 1:
            raise FeedRejected(f"{where} is out of order: entry {seq + 1} was expected next", n_seq)
        if e["prev"] != prev:
            raise FeedRejected(f"{where} does not follow entry {seq}: the chain is broken", n_seq)
        if not signing.signature_valid(key, e, e["signature"]):
            raise FeedRejected(
                f"{where}: the signature does not verify (changed after it was signed)", n_seq
            )
        if signing.entry_hash(e) != e["hash"]:
            raise FeedRejected(f"{where}: its hash does not match its content", n_seq)
        if e["op"] not in ("add", "remove") or e["item"] < 1:
            raise FeedRejected(f"{where}: unknown operation {e['op']!r} or item {e['item']}", n_seq)
        signals: dict[str, str] = {}
        if e["op"] == "add":
            try:
                signals = validate_signals(e["signals"])
            except SafeguardError as problem:
                raise FeedRejected(f"{where}: {problem.message}", n_seq) from None
        out.append(Entry(n_seq, e["op"], e["item"], signals, dict(e["provenance"]), e["hash"]))
        seq, prev = n_seq, e["hash"]
    return out


class PeerClient:
    """The HTTP calls a subscriber makes to a publisher (docs/exchange.md)."""

    def __init__(self, address: str, api_key: str, timeout: float = 30.0) -> None:
        self.address = address
        self._http = httpx.Client(
            base_url=address,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            follow_redirects=False,
        )

    def entries(self, feed: str, after: int, limit: int) -> Mapping[str, Any]:
        return self._call(
            "GET", f"/v1/exchange/feeds/{feed}/entries", params={"after": after, "limit": limit}
        )

    def send_opinions(self, feed: str, opinions: list[dict[str, object]]) -> Mapping[str, Any]:
        return self._call(
            "POST", f"/v1/exchange/feeds/{feed}/opinions", json={"opinions": opinions}
        )

    def check_accounts(self, list_name: str, request: str) -> Mapping[str, Any]:
        """A private account check (safeguard.exchange.psi): the blinded request, base64."""
        return self._call("POST", f"/v1/exchange/psi/{list_name}", json={"request": request})

    def _call(self, method: str, path: str, **kw: Any) -> Mapping[str, Any]:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise PeerError(f"cannot reach {self.address}: {e}") from None
        try:
            body = r.json()
        except ValueError:
            body = None
        if r.status_code != 200:
            said = body.get("message") if isinstance(body, dict) else r.text[:200]
            raise PeerError(f"{self.address} answered {r.status_code} to {path}: {said}")
        if not isinstance(body, dict):
            raise PeerError(f"{self.address} answered {path} with something that is not JSON")
        return body

    def close(self) -> None:
        self._http.close()


class Syncer:
    """Sync sources (see the module docstring); `client` makes the PeerClient of a source
    (tests give another)."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        settings: Settings,
        *,
        page: int = PAGE,
        client: Callable[[str, str], PeerClient] = PeerClient,
    ) -> None:
        self.db = db
        self.actor = actor
        self.settings = settings
        self.page = page
        self.client = client
        self.sources = SourceService(db, actor, settings)

    def sync_all(
        self, stop: threading.Event | None = None, *, api_every: float | None = None
    ) -> list[SyncReport]:
        """Sync every enabled source; a failing one is reported and the others go on.
        `api_every` leaves a hash-sharing service alone until that many seconds after its
        last sync (peers' feeds are cheap to ask; the services ask to be polled gently)."""
        self.actor.require_admin("sync peers' feeds")
        out = []
        now = utcnow()
        for info in self.sources.list():
            if stop is not None and stop.is_set():
                break
            recent = (
                api_every is not None
                and info.kind == "api"
                and info.last_sync_at is not None
                and (now - info.last_sync_at).total_seconds() < api_every
            )
            if info.enabled and not recent:
                out.append(self.sync(info.name, stop=stop, raise_errors=False))
        return out

    def sync(
        self,
        name: str,
        *,
        stop: threading.Event | None = None,
        on_page: Callable[[SyncReport], None] | None = None,
        raise_errors: bool = True,
    ) -> SyncReport:
        """Sync one source (a peer's feed or a hash-sharing service). The error of a failed
        sync is kept on the source (`exchange sources`) and raised (or, with
        `raise_errors=False`, returned in the report)."""
        self.actor.require_admin("sync peers' feeds")
        info = self.sources.get(name)
        done = SyncReport(name, 0, 0, 0, 0, info.cursor, info.cursor)
        try:
            pull = self._pull_api if info.kind == "api" else self._pull_feed
            for done in pull(info, stop):
                if on_page is not None:
                    on_page(done)
        except SafeguardError as e:
            self._note(name, e.message)
            log.info("exchange: sync of %s failed: %s", name, e.message)
            if raise_errors:
                raise
            return replace(done, cursor=self.sources.get(name).cursor, error=e.message)
        self._note(name, "")
        return replace(done, cursor=self.sources.get(name).cursor)

    def _pull_feed(self, info: SourceInfo, stop: threading.Event | None) -> Iterator[SyncReport]:
        """A peer's feed: opinions sent, then pages until drained; a report per page."""
        name = info.name
        client = self.client(info.url, read_credential(name, info.credential))
        try:
            done = SyncReport(name, self._send_opinions(name, info.feed, client), 0, 0, 0, 0, 0)
            head = info.cursor
            yield done
            while stop is None or not stop.is_set():
                with self.db.transaction() as s:
                    src = SourceService._row(s, name)
                    at = Position(src.feed, src.public_key, src.cursor, src.head_hash)
                page = client.entries(at.feed, at.cursor, self.page)
                raw = page.get("entries")
                if not isinstance(raw, list):
                    raise FeedRejected(f"the page from {info.url} has no list of entries")
                said = page.get("head_seq")
                head = said if isinstance(said, int) else head
                checked = verify(at, raw)
                if not checked:
                    return
                try:
                    a, r = self._apply(name, at, checked)
                except Conflict:
                    return  # another process is syncing this source just now: it carries on
                done = replace(
                    done,
                    entries=done.entries + len(checked),
                    added=done.added + a,
                    removed=done.removed + r,
                    cursor=checked[-1].seq,
                    head_seq=head,
                )
                yield done
                if len(raw) < self.page:
                    return
        finally:
            client.close()

    def _pull_api(self, info: SourceInfo, stop: threading.Event | None) -> Iterator[SyncReport]:
        """A hash-sharing service: its batches since the checkpoint; a report per batch."""
        from safeguard.exchange.apis import sync_api

        secret = read_credential(info.name, info.credential) if info.credential else None
        with self.db.transaction() as s:
            row = SourceService._row(s, info.name)
            s.expunge(row)
        done = SyncReport(info.name, 0, 0, 0, 0, 0, 0)
        try:
            for n, a, r in sync_api(self.db, self.actor.name, row, secret):
                done = replace(
                    done, entries=done.entries + n, added=done.added + a, removed=done.removed + r
                )
                yield done
                if stop is not None and stop.is_set():
                    return
        except Conflict:
            return  # another process is syncing this source just now: it carries on

    def _send_opinions(self, name: str, feed: str, client: PeerClient) -> int:
        with self.db.transaction() as s:
            src = SourceService._row(s, name)
            rows = s.scalars(
                select(MyOpinionRow).where(
                    MyOpinionRow.source_id == src.id, MyOpinionRow.sent_at.is_(None)
                )
            ).all()
            pending = [(r.item, r.opinion, r.note, r.at) for r in rows]
        if not pending:
            return 0
        client.send_opinions(feed, [{"item": i, "opinion": o, "note": n} for i, o, n, _ in pending])
        with self.db.write_transaction() as s:
            src = SourceService._row(s, name)
            for item, _, _, at in pending:  # an opinion changed meanwhile is sent next time
                s.execute(
                    update(MyOpinionRow)
                    .where(
                        MyOpinionRow.source_id == src.id,
                        MyOpinionRow.item == item,
                        MyOpinionRow.at == at,
                    )
                    .values(sent_at=utcnow())
                )
        return len(pending)

    def _apply(self, name: str, at: Position, entries: list[Entry]) -> tuple[int, int]:
        """Apply checked entries and move the cursor, in one transaction."""
        banks = BankService(self.db, self.actor.name)
        added = removed = 0
        with self.db.write_transaction() as s:
            src = s.scalar(select(SourceRow).where(SourceRow.name == name).with_for_update())
            if src is None or src.cursor != at.cursor or src.head_hash != at.head_hash:
                raise Conflict(f"source {name!r} was synced by another process meanwhile")
            for e in entries:
                where = f"entry {e.seq} of feed {at.feed!r}"
                known = s.get(ReceivedRow, (src.id, e.item))
                if e.op == "add":
                    if known is not None:
                        known.seq = e.seq
                        continue
                    try:
                        result = banks.add(
                            src.bank_name, e.signals, _provenance(name, at.feed, e), session=s
                        )
                    except SafeguardError as problem:
                        raise FeedRejected(f"{where}: {problem.message}", e.seq) from None
                    s.add(
                        ReceivedRow(
                            source_id=src.id,
                            item=e.item,
                            content_id=result.content_id,
                            seq=e.seq,
                            created=result.created,
                        )
                    )
                    s.flush()
                    added += 1
                elif known is not None:
                    forget(s, banks, src, ReceivedRow, known)
                    removed += 1
            src.cursor, src.head_hash = entries[-1].seq, entries[-1].hash
            src.last_sync_at, src.last_error = utcnow(), ""
            audit(
                s,
                self.actor.name,
                "exchange.sync",
                f"source:{name}",
                first=entries[0].seq,
                last=entries[-1].seq,
                added=added,
                removed=removed,
            )
        return added, removed

    def _note(self, name: str, error: str) -> None:
        """Keep the outcome of the last sync on the source."""
        try:
            with self.db.write_transaction() as s:
                s.execute(
                    update(SourceRow)
                    .where(SourceRow.name == name)
                    .values(last_error=error[:2000], last_sync_at=utcnow())
                )
        except SafeguardError:
            pass  # the source went away meanwhile


def forget(
    s: Session,
    banks: BankService,
    src: SourceRow,
    model: type[ReceivedRow] | type[ApiReceivedRow],
    known: ReceivedRow | ApiReceivedRow,
) -> None:
    """Drop what a source had sent for one record; its content goes too when this source
    created it and no other record of the source still points at it."""
    s.delete(known)
    s.flush()
    shared = s.scalar(
        select(func.count()).where(model.source_id == src.id, model.content_id == known.content_id)
    )
    if known.created and not shared:
        with contextlib.suppress(ContentNotFound):  # removed here already
            banks.remove_content(src.bank_name, known.content_id, session=s)


def _provenance(source: str, feed: str, e: Entry) -> Provenance:
    p = e.provenance
    external = p.get("external_id")
    tags = p.get("tags")
    note = f"from {feed} entry {e.seq}"
    if isinstance(external, str) and external:
        note += f"; the publisher's external id {external}"
    return Provenance(
        source=f"exchange:{source}",
        external_id=f"{feed}:{e.item}",
        note=note[:2000],
        tags=tuple(t for t in tags if isinstance(t, str))[:20] if isinstance(tags, list) else (),
    )


def sync_task(settings: Settings, api_every: float = 300.0) -> Callable[[object], object]:
    """What `safeguard worker` runs periodically: sync every enabled source, hash-sharing
    services at most every `api_every` seconds (a summary of those that moved or failed;
    None when there are none)."""

    def run(now: object) -> object:
        db = Database.open(settings.database_url)
        try:
            actor = Actor("system:exchange", frozenset({"admin"}))
            reports = Syncer(db, actor, settings).sync_all(api_every=api_every)
        finally:
            db.close()
        moved = [r.to_json() for r in reports if r.entries or r.opinions_sent or not r.ok]
        return moved or None

    return run
