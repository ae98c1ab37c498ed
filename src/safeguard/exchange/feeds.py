"""`FeedService`: a bank published as an append-only, signed feed that peers read from a
cursor, and the opinions peers send back about its entries (the publisher's side).

A feed follows its bank through the change log: every item added to the bank becomes an
"add" entry carrying the item's signals (never its local features or the file) and a little
provenance (the publisher's item id, external id, tags, when it was banked); every item
removed, and every item of a deleted bank, becomes a "remove" entry. Entries are numbered
from 1 with no gaps, each chained to the one before by its SHA-256 and signed with this
instance's exchange key (safeguard.exchange.signing), so a peer can check what it reads.

The feed is brought up to date whenever a peer reads it (`entries`) and by `catch_up`: the
change log is read from the feed's saved position, and the items those changes name are
compared with the items the feed holds, so a change seen twice adds nothing. One process at
a time appends: the feed's row is locked while it does.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.config import Settings
from safeguard.errors import AlreadyExists, BankNotFound, InvalidRequest, NotFound
from safeguard.exchange import signing
from safeguard.exchange.records import OPINIONS, FeedInfo, FeedPage, OpinionInfo
from safeguard.matching.feed import ChangeFeed
from safeguard.store import Bank, Content, ContentSignal, Database
from safeguard.store.exchange_tables import FeedEntryRow, FeedItemRow, FeedRow, OpinionRow
from safeguard.store.models import signal_rows, utcnow

FEED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
#: the change-log actions that can change what a feed holds
WATCHED = ("content.add", "content.remove", "content.import", "bank.delete")
#: the most entries one page gives a peer
MAX_PAGE = 5000
#: the most opinions one request may carry
MAX_OPINIONS = 1000
#: the longest note an opinion may carry
MAX_NOTE = 2000
_CHUNK = 500


def check_feed_name(name: str) -> str:
    if not isinstance(name, str) or not FEED_NAME.fullmatch(name):
        raise InvalidRequest(
            f"a feed name is 1-100 letters, digits, '_', '-' or '.', starting with a letter "
            f"or digit; got {name!r:.120}"
        )
    return name


class FeedService:
    """Publish banks as feeds, serve their entries, take peers' opinions."""

    def __init__(self, db: Database, actor: Actor, settings: Settings) -> None:
        self.db = db
        self.actor = actor
        self.settings = settings

    def key(self) -> dict[str, str]:
        """This instance's exchange public key (hex) and key id: what peers pin."""
        public = signing.private_key(self.settings).public_key()
        return {"public_key": signing.public_hex(public), "key_id": signing.key_id(public)}

    # -- feeds (admins) --------------------------------------------------------------------

    def publish(self, name: str, bank: str, *, description: str = "") -> FeedInfo:
        """Publish `bank` as feed `name`: its items now, then every change to them."""
        self.actor.require_admin("publish banks to peers")
        check_feed_name(name)
        key = signing.private_key(self.settings)  # made (or checked) before anything is written
        probe = ChangeFeed(self.db, actions=WATCHED)
        probe.reset_to_head()  # changes from here on are read from the log...
        cursor, gaps = probe.state()
        try:
            with self.db.write_transaction() as s:
                row = s.scalar(select(Bank).where(Bank.name == bank))
                if row is None:
                    raise BankNotFound(bank)
                if row.negative:
                    raise InvalidRequest(
                        f"bank {bank!r} is a negative bank: it cannot be published"
                    )
                s.add(
                    FeedRow(
                        name=name,
                        bank_id=row.id,
                        description=description,
                        change_cursor=cursor,
                        change_gaps=gaps,
                        created_at=utcnow(),
                        created_by=self.actor.name,
                    )
                )
                s.flush()
                audit(s, self.actor.name, "exchange.publish", f"feed:{name}", bank=bank)
        except IntegrityError:
            raise AlreadyExists(f"a feed named {name!r} already exists") from None
        # ...and the items already there are read whole
        with self.db.write_transaction() as s:
            feed = self._locked(s, name)
            self._reconcile(s, feed, key, None)
        return self.get(name)

    def unpublish(self, name: str) -> FeedInfo:
        """Stop publishing: the feed and its entries are deleted (peers get 404 from now)."""
        self.actor.require_admin("stop publishing a feed")
        info = self.get(name)
        with self.db.write_transaction() as s:
            feed = self._locked(s, name)
            s.delete(feed)
            audit(s, self.actor.name, "exchange.unpublish", f"feed:{name}", head_seq=info.head_seq)
        return info

    def list(self) -> builtins.list[FeedInfo]:
        with self.db.transaction() as s:
            names = list(s.scalars(select(FeedRow.name).order_by(FeedRow.name)))
        return [self.get(n) for n in names]

    def get(self, name: str) -> FeedInfo:
        public = signing.private_key(self.settings).public_key()
        with self.db.transaction() as s:
            feed = self._row(s, name)
            bank = s.get(Bank, feed.bank_id)
            items = s.scalar(select(func.count()).where(FeedItemRow.feed_id == feed.id)) or 0
            return FeedInfo(
                name=feed.name,
                bank=bank.name if bank else None,
                description=feed.description,
                head_seq=feed.head_seq,
                items=items,
                key_id=signing.key_id(public),
                public_key=signing.public_hex(public),
                created_at=feed.created_at,
                created_by=feed.created_by,
            )

    # -- entries (peers) -------------------------------------------------------------------

    def entries(self, name: str, *, after: int = 0, limit: int = 1000) -> FeedPage:
        """Up to `limit` entries after sequence number `after`, the feed brought up to date
        first."""
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InvalidRequest(f"after must be a whole number from 0, got {after!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be 1-{MAX_PAGE}, got {limit!r}")
        self.catch_up(name)
        public = signing.private_key(self.settings).public_key()
        with self.db.transaction() as s:
            feed = self._row(s, name)
            rows = s.scalars(
                select(FeedEntryRow)
                .where(FeedEntryRow.feed_id == feed.id, FeedEntryRow.seq > after)
                .order_by(FeedEntryRow.seq)
                .limit(limit)
            ).all()
            return FeedPage(
                feed=feed.name,
                key_id=signing.key_id(public),
                public_key=signing.public_hex(public),
                head_seq=feed.head_seq,
                entries=[_wire(feed.name, r) for r in rows],
            )

    def catch_up(self, name: str) -> int:
        """Append the entries for changes to the bank since the feed last looked; returns
        how many. Cheap when nothing changed (one read, no write)."""
        with self.db.transaction() as s:
            feed = self._row(s, name)
            cursor, gaps = feed.change_cursor, list(feed.change_gaps or [])
        changes = ChangeFeed(self.db, actions=WATCHED)
        changes.resume(cursor, gaps)
        batch = changes.poll()
        if not batch.rows and batch.cursor == cursor and sorted(batch.gaps) == sorted(gaps):
            return 0
        key = signing.private_key(self.settings)
        appended = 0
        while True:
            with self.db.write_transaction() as s:
                feed = self._locked(s, name)
                # read again under the lock: another process may have just done this
                changes.resume(feed.change_cursor, feed.change_gaps or [])
                batch = changes.poll()
                ids: set[int] = set()
                everything = False
                for r in batch.rows:
                    if r.bank_id != feed.bank_id:
                        continue
                    if r.action == "bank.delete":
                        everything = True
                    elif r.action == "content.import":
                        first, last = (
                            r.detail.get("first_content_id"),
                            r.detail.get("last_content_id"),
                        )
                        if isinstance(first, int) and isinstance(last, int):
                            ids.update(self._ids_between(s, feed, first, last))
                    elif r.content_id is not None:
                        ids.add(r.content_id)
                if everything or ids:
                    appended += self._reconcile(s, feed, key, None if everything else ids)
                feed.change_cursor = batch.cursor
                feed.change_gaps = sorted(batch.gaps)
            if batch.scanned < changes.batch:
                return appended

    # -- opinions --------------------------------------------------------------------------

    def record_opinions(
        self, name: str, peer: str, opinions: Sequence[tuple[int, str, str]]
    ) -> int:
        """Store a peer's opinions ((item, opinion, note), the latest per item replacing the
        one before); every item must have been published in this feed."""
        if not opinions:
            return 0
        if len(opinions) > MAX_OPINIONS:
            raise InvalidRequest(f"at most {MAX_OPINIONS} opinions at a time, got {len(opinions)}")
        for item, opinion, note in opinions:
            check_opinion(opinion, note)
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                raise InvalidRequest(f"an item is a positive whole number, got {item!r}")
        with self.db.write_transaction() as s:
            feed = self._row(s, name)
            wanted = {item for item, _, _ in opinions}
            known = set(
                s.scalars(
                    select(FeedEntryRow.item).where(
                        FeedEntryRow.feed_id == feed.id,
                        FeedEntryRow.op == "add",
                        FeedEntryRow.item.in_(sorted(wanted)),
                    )
                )
            )
            unknown = sorted(wanted - known)
            if unknown:
                raise NotFound(f"feed {name!r} never published item {unknown[0]}")
            now = utcnow()
            for item, opinion, note in opinions:
                row = s.scalar(
                    select(OpinionRow).where(
                        OpinionRow.feed_id == feed.id,
                        OpinionRow.item == item,
                        OpinionRow.peer == peer,
                    )
                )
                if row is None:
                    s.add(
                        OpinionRow(
                            feed_id=feed.id,
                            item=item,
                            peer=peer,
                            opinion=opinion,
                            note=note,
                            at=now,
                        )
                    )
                else:
                    row.opinion, row.note, row.at = opinion, note, now
                audit(s, peer, "exchange.opinion", f"feed:{name}", item=item, opinion=opinion)
            return len(opinions)

    def opinions(self, name: str, *, item: int | None = None) -> builtins.list[OpinionInfo]:
        """Peers' opinions on the feed's items (admins and child-safety specialists)."""
        self.actor.require(
            self.actor.is_admin or self.actor.has("child_safety"), "read peers' opinions"
        )
        with self.db.transaction() as s:
            feed = self._row(s, name)
            q = select(OpinionRow).where(OpinionRow.feed_id == feed.id)
            if item is not None:
                q = q.where(OpinionRow.item == item)
            rows = s.scalars(q.order_by(OpinionRow.item, OpinionRow.peer)).all()
            return [OpinionInfo(name, r.item, r.peer, r.opinion, r.note, r.at) for r in rows]

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _row(s: Session, name: str) -> FeedRow:
        feed = s.scalar(select(FeedRow).where(FeedRow.name == name))
        if feed is None:
            raise NotFound(f"no feed named {name!r}")
        return feed

    @staticmethod
    def _locked(s: Session, name: str) -> FeedRow:
        feed = s.scalar(select(FeedRow).where(FeedRow.name == name).with_for_update())
        if feed is None:
            raise NotFound(f"no feed named {name!r}")
        return feed

    @staticmethod
    def _ids_between(s: Session, feed: FeedRow, first: int, last: int) -> set[int]:
        ids = set(
            s.scalars(
                select(Content.id).where(
                    Content.bank_id == feed.bank_id, Content.id.between(first, last)
                )
            )
        )
        ids.update(
            s.scalars(
                select(FeedItemRow.item).where(
                    FeedItemRow.feed_id == feed.id, FeedItemRow.item.between(first, last)
                )
            )
        )
        return ids

    def _reconcile(
        self, s: Session, feed: FeedRow, key: Ed25519PrivateKey, ids: set[int] | None
    ) -> int:
        """Append entries so that the feed holds exactly the bank's items among `ids`
        (None: all of them). Returns how many entries were appended."""
        present_q = select(Content.id).where(Content.bank_id == feed.bank_id)
        held_q = select(FeedItemRow.item).where(FeedItemRow.feed_id == feed.id)
        if ids is None:
            present, held = set(s.scalars(present_q)), set(s.scalars(held_q))
        else:
            present, held = set(), set()
            chunks = sorted(ids)
            for i in range(0, len(chunks), _CHUNK):
                part = chunks[i : i + _CHUNK]
                present.update(s.scalars(present_q.where(Content.id.in_(part))))
                held.update(s.scalars(held_q.where(FeedItemRow.item.in_(part))))
        added = sorted(present - held)
        removed = sorted(held - present)
        n = 0
        for i in range(0, len(removed), _CHUNK):
            n += self._append(s, feed, key, [(item, None) for item in removed[i : i + _CHUNK]])
        for i in range(0, len(added), _CHUNK):
            part = added[i : i + _CHUNK]
            n += self._append(s, feed, key, list(_items(s, part)))
        return n

    def _append(
        self,
        s: Session,
        feed: FeedRow,
        key: Ed25519PrivateKey,
        items: builtins.list[tuple[int, tuple[dict[str, str], dict[str, object]] | None]],
    ) -> int:
        """Sign and append one entry per item: an add (with signals and provenance) or,
        for None, a remove."""
        kid = signing.key_id(key.public_key())
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        seq, prev = feed.head_seq, feed.head_hash
        entries: builtins.list[dict[str, object]] = []
        adds: builtins.list[tuple[int, int]] = []
        removes: builtins.list[tuple[int, int]] = []
        for item, body in items:
            seq += 1
            signals, provenance = body if body is not None else ({}, {})
            fields: dict[str, object] = {
                "feed": feed.name,
                "seq": seq,
                "op": "add" if body is not None else "remove",
                "item": item,
                "signals": signals,
                "provenance": provenance,
                "at": at,
                "prev": prev,
            }
            digest = signing.entry_hash(fields)
            entries.append(
                {
                    "feed_id": feed.id,
                    "seq": seq,
                    "op": fields["op"],
                    "item": item,
                    "signals": signals,
                    "provenance": provenance,
                    "at": at,
                    "prev": prev,
                    "hash": digest,
                    "key_id": kid,
                    "signature": signing.sign(key, fields),
                }
            )
            (adds if body is not None else removes).append((item, seq))
            prev = digest
        if not entries:
            return 0
        conn = s.connection()
        conn.execute(insert(FeedEntryRow.__table__), entries)  # type: ignore[arg-type]
        if removes:
            conn.execute(
                delete(FeedItemRow.__table__).where(  # type: ignore[arg-type]
                    FeedItemRow.feed_id == feed.id,
                    FeedItemRow.item.in_([i for i, _ in removes]),
                )
            )
        if adds:
            conn.execute(
                insert(FeedItemRow.__table__),  # type: ignore[arg-type]
                [{"feed_id": feed.id, "item": i, "seq": q} for i, q in adds],
            )
        feed.head_seq, feed.head_hash = seq, prev
        return len(entries)


def check_opinion(opinion: str, note: str = "") -> None:
    if opinion not in OPINIONS:
        raise InvalidRequest(f"unknown opinion {opinion!r}: use {', '.join(OPINIONS)}")
    if not isinstance(note, str) or len(note) > MAX_NOTE or "\x00" in note:
        raise InvalidRequest(f"an opinion's note is text of at most {MAX_NOTE} characters")


def _items(
    s: Session, ids: Iterable[int]
) -> Iterable[tuple[int, tuple[dict[str, str], dict[str, object]]]]:
    """Each item's signals and the provenance a feed shares, in id order."""
    ids = sorted(ids)
    signals: dict[int, dict[str, str]] = {i: {} for i in ids}
    for _, cid, _, t, v in s.execute(signal_rows().where(ContentSignal.content_id.in_(ids))):
        signals[cid][t] = v
    rows = {c.id: c for c in s.scalars(select(Content).where(Content.id.in_(ids)))}
    for i in ids:
        c = rows[i]
        provenance: dict[str, object] = {
            "external_id": c.external_id,
            "tags": list(c.tags or []),
            "added_at": c.added_at.isoformat(),
        }
        yield i, (dict(sorted(signals[i].items())), provenance)


def _wire(feed: str, r: FeedEntryRow) -> dict[str, object]:
    return {
        "feed": feed,
        "seq": r.seq,
        "op": r.op,
        "item": r.item,
        "signals": r.signals,
        "provenance": r.provenance,
        "at": r.at,
        "prev": r.prev,
        "hash": r.hash,
        "key_id": r.key_id,
        "signature": r.signature,
    }
