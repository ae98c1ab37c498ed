"""`SourceService`: the peers' feeds this instance follows (the subscriber's side).

Subscribing pins the publisher's public key, names where the API key for the publisher is
read (an environment variable or a file: never stored in the database), and chooses the
local bank the feed fills, with this instance's trust in the source: the bank's thresholds,
and whether its matches may block or only hold (hold unless asked: a peer's signal is a
reason for review, not proof). Opinions on received items (confirmed, disputed,
false_positive) are kept here and sent to the publisher on the next sync; a false positive
is also switched off locally at once.

`sync` (safeguard.exchange.sync) reads the feed; this module is the bookkeeping around it.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.banks.service import BankService
from safeguard.config import Settings
from safeguard.errors import (
    AlreadyExists,
    BankExists,
    ConfigError,
    ContentNotFound,
    InvalidRequest,
    NotFound,
)
from safeguard.exchange import signing
from safeguard.exchange.feeds import check_feed_name, check_opinion
from safeguard.exchange.records import OpinionInfo, SourceInfo
from safeguard.store import Database
from safeguard.store.exchange_tables import ApiReceivedRow, MyOpinionRow, ReceivedRow, SourceRow
from safeguard.store.models import utcnow

SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
#: how long a switched-off false positive stays off: for good
FOR_GOOD = datetime(9999, 1, 1, tzinfo=UTC)


def check_address(address: str) -> str:
    """A publisher's base address: http(s), a host, no user name or password."""
    parts = urlsplit(address.strip()) if isinstance(address, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or len(address) > 2000
    ):
        raise InvalidRequest(
            f"a publisher's address is http(s)://host[:port][/path], got {address!r:.200}"
        )
    return address.strip().rstrip("/")


def check_credential(credential: str) -> str:
    """Where the API key for the publisher is read: `env:NAME` or `file:/absolute/path`."""
    kind, _, where = credential.partition(":") if isinstance(credential, str) else ("", "", "")
    if (kind == "env" and ENV_NAME.fullmatch(where)) or (
        kind == "file" and where.startswith("/") and len(where) < 490
    ):
        return credential
    raise InvalidRequest(
        "the publisher's API key is read from `env:VARIABLE` or `file:/absolute/path` "
        f"(never stored in the database), got {credential!r:.120}"
    )


def read_credential(source: str, credential: str) -> str:
    """The API key named by `credential`, or ConfigError saying what is missing."""
    kind, _, where = credential.partition(":")
    if kind == "env":
        value = os.environ.get(where, "").strip()
        if not value:
            raise ConfigError(f"source {source!r}: environment variable {where} is not set")
        return value
    try:
        value = Path(where).read_text().strip()
    except OSError as e:
        raise ConfigError(
            f"source {source!r}: cannot read key file {where}: {e.strerror}"
        ) from None
    if not value:
        raise ConfigError(f"source {source!r}: key file {where} is empty")
    return value


class SourceService:
    """Subscribe to peers' feeds, list them, and say what we think of what they sent."""

    def __init__(self, db: Database, actor: Actor, settings: Settings) -> None:
        self.db = db
        self.actor = actor
        self.settings = settings

    def subscribe(
        self,
        name: str,
        address: str,
        feed: str,
        public_key: str,
        credential: str,
        *,
        bank: str | None = None,
        may_block: bool = False,
        thresholds: dict[str, int] | None = None,
    ) -> SourceInfo:
        """Follow `feed` at `address` into `bank` (default `peer-<name>`, created here)."""
        self.actor.require_admin("subscribe to a peer's feed")
        address = check_address(address)
        check_feed_name(feed)
        key = signing.load_public(public_key)
        check_credential(credential)
        fields: dict[str, Any] = {
            "kind": "peer",
            "url": address,
            "feed": feed,
            "public_key": signing.public_hex(key),
        }
        described = f"signals from {feed} at {address}"
        return self._add(
            name,
            fields,
            credential,
            bank,
            may_block,
            thresholds,
            described,
            key_id=signing.key_id(key),
        )

    def subscribe_api(
        self,
        name: str,
        api: str,
        config: dict[str, object],
        *,
        credential: str | None = None,
        address: str | None = None,
        bank: str | None = None,
        may_block: bool = False,
        thresholds: dict[str, int] | None = None,
    ) -> SourceInfo:
        """Follow a hash-sharing service (safeguard.exchange.apis) into `bank`: `config` is
        its collaboration settings; `credential` where its credentials are read (services
        that need them); `address` replaces its built-in address (a proxy or a stand-in)."""
        from safeguard.exchange.apis import collab_config

        self.actor.require_admin("subscribe to a hash-sharing service")
        collab_config(api, name, config)  # refused here, not at the first sync
        if credential is not None:
            check_credential(credential)
        where = check_address(address) if address else ""
        fields: dict[str, Any] = {
            "kind": "api",
            "url": where,
            "feed": "",
            "public_key": "",
            "api": api,
        }
        fields["config"] = dict(config)
        described = f"signals from the {api} service"
        return self._add(
            name, fields, credential or "", bank, may_block, thresholds, described, api=api
        )

    def _add(
        self,
        name: str,
        fields: dict[str, Any],
        credential: str,
        bank: str | None,
        may_block: bool,
        thresholds: dict[str, int] | None,
        described: str,
        **audited: object,
    ) -> SourceInfo:
        """A new source and the bank of its own it fills (default `peer-<name>`)."""
        if not isinstance(name, str) or not SOURCE_NAME.fullmatch(name):
            raise InvalidRequest(
                f"a source name is 1-100 letters, digits, '_', '-' or '.', got {name!r:.120}"
            )
        bank = bank or f"peer-{name}"[:100]
        with self.db.transaction() as s:
            if s.scalar(select(SourceRow.id).where(SourceRow.name == name)) is not None:
                raise AlreadyExists(f"a source named {name!r} already exists")
        banks = BankService(self.db, self.actor.name)
        try:
            banks.create(bank, description=described, thresholds=thresholds)
        except BankExists:
            raise AlreadyExists(
                f"bank {bank!r} already exists: a source fills a bank of its own (--bank NAME)"
            ) from None
        try:
            with self.db.write_transaction() as s:
                s.add(
                    SourceRow(
                        name=name,
                        **fields,
                        credential=credential,
                        bank_name=bank,
                        may_block=may_block,
                        enabled=True,
                        cursor=0,
                        head_hash="",
                        last_error="",
                        created_at=utcnow(),
                        created_by=self.actor.name,
                    )
                )
                s.flush()
                audit(
                    s,
                    self.actor.name,
                    "exchange.subscribe",
                    f"source:{name}",
                    kind=fields["kind"],
                    address=fields["url"],
                    bank=bank,
                    may_block=may_block,
                    **audited,
                )
        except IntegrityError:
            banks.delete(bank)
            raise AlreadyExists(f"a source named {name!r} already exists") from None
        return self.get(name)

    def unsubscribe(self, name: str, *, delete_bank: bool = False) -> SourceInfo:
        """Stop following a source; its bank stays (and matches) unless `delete_bank`."""
        self.actor.require_admin("unsubscribe from a peer's feed")
        info = self.get(name)
        with self.db.write_transaction() as s:
            row = self._row(s, name)
            s.delete(row)
            audit(s, self.actor.name, "exchange.unsubscribe", f"source:{name}", bank=info.bank)
        if delete_bank:
            BankService(self.db, self.actor.name).delete(info.bank)
        return info

    def list(self) -> builtins.list[SourceInfo]:
        with self.db.transaction() as s:
            rows = s.scalars(select(SourceRow).order_by(SourceRow.name)).all()
            return [self._info(s, r) for r in rows]

    def get(self, name: str) -> SourceInfo:
        with self.db.transaction() as s:
            return self._info(s, self._row(s, name))

    def set_opinion(
        self,
        name: str,
        opinion: str,
        *,
        item: int | None = None,
        content_id: int | None = None,
        note: str = "",
    ) -> OpinionInfo:
        """Say what we think of a received item (by the publisher's item id, or by the
        local content id it became). Sent to the publisher on the next sync; a
        false_positive is switched off here at once, and back on if the opinion changes."""
        self.actor.require(
            self.actor.is_admin or self.actor.has("child_safety"), "give opinions on peers' signals"
        )
        check_opinion(opinion, note)
        if (item is None) == (content_id is None):
            raise InvalidRequest("name the received item by its item id or its content id (one)")
        with self.db.write_transaction() as s:
            src = self._row(s, name)
            if src.kind != "peer":
                raise InvalidRequest(
                    f"source {name!r} is the {src.api} service: opinions go back to safeguard "
                    "peers only (switch an item off here with `bank` commands)"
                )
            q = select(ReceivedRow).where(ReceivedRow.source_id == src.id)
            q = q.where(
                ReceivedRow.item == item
                if item is not None
                else ReceivedRow.content_id == content_id
            )
            received = s.scalar(q)
            if received is None:
                what = f"item {item}" if item is not None else f"content {content_id}"
                raise NotFound(f"source {name!r} has not sent {what}")
            row = s.get(MyOpinionRow, (src.id, received.item))
            before = row.opinion if row else None
            now = utcnow()
            if row is None:
                row = MyOpinionRow(source_id=src.id, item=received.item)
                s.add(row)
            row.opinion, row.note, row.at, row.by, row.sent_at = (
                opinion,
                note,
                now,
                self.actor.name,
                None,
            )
            audit(
                s,
                self.actor.name,
                "exchange.my_opinion",
                f"source:{name}",
                item=received.item,
                content_id=received.content_id,
                opinion=opinion,
            )
            bank, cid, target = src.bank_name, received.content_id, received.item
        if opinion == "false_positive" or before == "false_positive":
            off = opinion == "false_positive"
            with contextlib.suppress(ContentNotFound):  # removed here meanwhile: nothing to do
                BankService(self.db, self.actor.name).set_content_disabled(
                    bank, cid, FOR_GOOD if off else None
                )
        return OpinionInfo(name, target, name, opinion, note, now, sent=False)

    def my_opinions(self, name: str) -> builtins.list[OpinionInfo]:
        with self.db.transaction() as s:
            src = self._row(s, name)
            rows = s.scalars(
                select(MyOpinionRow)
                .where(MyOpinionRow.source_id == src.id)
                .order_by(MyOpinionRow.item)
            ).all()
            return [
                OpinionInfo(src.feed, r.item, name, r.opinion, r.note, r.at, r.sent_at is not None)
                for r in rows
            ]

    @staticmethod
    def _row(s: Session, name: str) -> SourceRow:
        row = s.scalar(select(SourceRow).where(SourceRow.name == name))
        if row is None:
            raise NotFound(f"no source named {name!r}")
        return row

    @staticmethod
    def _info(s: Session, r: SourceRow) -> SourceInfo:
        received = ReceivedRow if r.kind == "peer" else ApiReceivedRow
        items = s.scalar(select(func.count()).where(received.source_id == r.id)) or 0
        return SourceInfo(
            name=r.name,
            kind=r.kind,
            api=r.api,
            url=r.url,
            feed=r.feed,
            key_id=signing.key_id(signing.load_public(r.public_key)) if r.public_key else "",
            credential=r.credential,
            bank=r.bank_name,
            may_block=r.may_block,
            enabled=r.enabled,
            cursor=r.cursor,
            items=items,
            last_sync_at=r.last_sync_at,
            last_error=r.last_error,
            created_at=r.created_at,
            created_by=r.created_by,
        )


class HoldOnly:
    """The banks filled by sources whose matches may not block, read at most once a
    `ttl` seconds (the act stage asks on every matched event)."""

    def __init__(self, db: Database, ttl: float = 1.0) -> None:
        self.db = db
        self.ttl = ttl
        self._banks: frozenset[str] = frozenset()
        self._at = float("-inf")

    def banks(self) -> frozenset[str]:
        now = time.monotonic()
        if now - self._at >= self.ttl:
            with self.db.transaction() as s:
                self._banks = frozenset(
                    s.scalars(select(SourceRow.bank_name).where(SourceRow.may_block.is_(False)))
                )
            self._at = now
        return self._banks
