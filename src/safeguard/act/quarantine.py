"""Flood quarantine: a bank entry that suddenly matches far more than its own history (a
collision with a meme, a poisoned list) is paused before it blocks thousands of uploads.

After each batch of events, the entries it matched are checked: an entry with at least
`max(min_burst, factor x its usual count per window)` matches in the last `window` (the
usual count from the `history` before that window) is paused. Paused entries still match
(the content may be real) but their matches only hold, never block (act/service.py); the
pending verdicts already given on them are downgraded from block to hold and the platform is
told; a case `bank-entry:<content id>` puts the entry in front of a reviewer. Deciding that
case releases it (`confirmed`: the entry is right) or switches the entry off (`not_abuse`).
Every pause and release is audited. Matches are counted from the case items they became.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.config import Settings
from safeguard.errors import ContentNotFound
from safeguard.outbox import enqueue
from safeguard.store import Database, WriteBusy
from safeguard.store.driver import DriverStatement
from safeguard.store.models import utcnow
from safeguard.store.review_tables import (
    ENTRY_ACCOUNT,
    Case,
    CaseItem,
    Event,
    QuarantinedEntry,
    case_is_active,
)

#: each entry's matches in the window and in the history before it (run for a few entries
#: after most batches of events: on the driver, store/driver.py)
_COUNTS = DriverStatement(
    select(
        CaseItem.content_id,
        func.count().filter(CaseItem.at >= bindparam("recent")),
        func.count().filter(CaseItem.at < bindparam("recent")),
        func.max(CaseItem.bank_name),
    )
    .where(
        CaseItem.kind == "match",
        CaseItem.content_id.in_(bindparam("ids", expanding=True)),
        CaseItem.at >= bindparam("history"),
    )
    .group_by(CaseItem.content_id),
    expanding="ids",
)


@dataclass(frozen=True)
class FloodPolicy:
    window: timedelta = timedelta(minutes=10)
    min_burst: int = 50
    factor: float = 10.0
    history: timedelta = timedelta(days=7)

    @classmethod
    def of(cls, settings: Settings) -> FloodPolicy:
        return cls(
            window=timedelta(seconds=settings.flood_window),
            min_burst=settings.flood_min,
            factor=settings.flood_factor,
        )


@dataclass(frozen=True)
class QuarantineInfo:
    content_id: int
    bank: str
    since: datetime
    reason: str
    released_at: datetime | None
    released_by: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "content_id": self.content_id,
            "bank": self.bank,
            "since": self.since.isoformat(),
            "reason": self.reason,
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "released_by": self.released_by,
        }


class FloodGuard:
    def __init__(self, db: Database, settings: Settings, *, cache_seconds: float = 1.0) -> None:
        self.db = db
        self.policy = FloodPolicy.of(settings)
        self.cache_seconds = cache_seconds
        self._paused: tuple[float, set[int]] = (0.0, set())
        # matches of each entry this process saw since it last counted that entry's in the
        # store: an entry is counted every `max(1, min_burst // 10)` of them (a burst is
        # still caught within a tenth of its threshold; one-off matches cost no query)
        self._unchecked: dict[int, int] = {}
        self._step = max(1, self.policy.min_burst // 10)

    def paused(self) -> set[int]:
        """Content ids paused now (read at most once a `cache_seconds`)."""
        ids = self.paused_cached()
        if ids is not None:
            return ids
        with self.db.transaction() as s:
            ids = set(
                s.scalars(
                    select(QuarantinedEntry.content_id).where(
                        QuarantinedEntry.released_at.is_(None)
                    )
                )
            )
        self._paused = (time.monotonic(), ids)
        return ids

    def paused_cached(self) -> set[int] | None:
        """`paused` when it needs no database read, else None (for an event loop)."""
        at, ids = self._paused
        return ids if time.monotonic() - at < self.cache_seconds else None

    def check(self, content_ids: Iterable[int], now: datetime, *, wait: bool = True) -> list[int]:
        """Count the matches of these entries (one per occurrence) and pause those that are
        flooding; their ids. With `wait=False` a pause that would wait for another writer
        is left for the entry's next match (it is counted again then)."""
        p = self.policy
        paused = self.paused()
        if len(self._unchecked) > 100_000:
            self._unchecked.clear()
        candidates = set()
        for cid in content_ids:
            if cid in paused:
                continue
            n = self._unchecked.get(cid, 0) + 1
            if n >= self._step:
                candidates.add(cid)
                n = 0
            self._unchecked[cid] = n
        if not candidates:
            return []
        recent_from, history_from = now - p.window, now - p.window - p.history
        windows = p.history / p.window
        with self.db.engine.connect() as conn:
            rows = _COUNTS.rows(
                conn, {"ids": sorted(candidates), "recent": recent_from, "history": history_from}
            )
        flooding = []
        for content_id, in_window, earlier, bank in rows:
            recent, usual = int(in_window or 0), int(earlier or 0) / windows
            if recent >= max(p.min_burst, p.factor * usual):
                reason = (
                    f"{recent} matches in the last {p.window.total_seconds() / 60:g} min against "
                    f"a usual {usual:.2f} per window over {p.history.days} days"
                )
                if content_id is None:
                    continue
                try:
                    if self._pause(content_id, str(bank), reason, now, wait):
                        flooding.append(content_id)
                except WriteBusy:
                    self._unchecked[content_id] = self._step - 1
        if flooding:
            self._paused = (0.0, set())
        return flooding

    def _pause(self, content_id: int, bank: str, reason: str, now: datetime, wait: bool) -> bool:
        with self.db.write_transaction(wait=wait) as s:
            row = s.get(QuarantinedEntry, content_id, with_for_update=True)
            if row is not None and row.released_at is None:
                return False  # paused by a concurrent batch
            if row is None:
                s.add(
                    QuarantinedEntry(
                        content_id=content_id, bank_name=bank, since=now, reason=reason
                    )
                )
            else:
                row.since, row.reason, row.released_at, row.released_by = now, reason, None, None
            audit(
                s,
                "system:flood-quarantine",
                "quarantine.pause",
                f"content:{content_id}",
                bank=bank,
                reason=reason,
            )
            blocked = (
                s.scalars(
                    select(Event)
                    .join(CaseItem, CaseItem.event_id == Event.id)
                    .join(Case, Case.id == CaseItem.case_id)
                    .where(
                        CaseItem.content_id == content_id,
                        Event.verdict == "block",
                        case_is_active(),
                    )
                    .with_for_update(of=Event)
                )
                .unique()
                .all()
            )
            for event in blocked:
                event.verdict = "hold"
                payload: dict[str, object] = {
                    "event_id": event.id,
                    "id": event.external_id,
                    "account_id": event.account_id,
                    "kind": event.kind,
                    "verdict": "hold",
                    "was": "block",
                    "reason": "flood quarantine",
                    "case_id": event.case_id,
                }
                enqueue(s, "verdict", payload, f"verdict:{event.id}:quarantine:{now.timestamp()}")
            account = f"{ENTRY_ACCOUNT}{content_id}"
            q = select(Case).where(Case.account_id == account, case_is_active())
            case = s.scalar(q)
            if case is None:
                case = Case(
                    account_id=account,
                    state="open",
                    priority=3,
                    child_safety=True,
                    reason="flood-quarantine",
                    opened_at=now,
                    updated_at=now,
                    note="",
                    version=1,
                )
                s.add(case)
                s.flush()
            s.add(
                CaseItem(
                    case_id=case.id,
                    kind="quarantine",
                    at=now,
                    bank_name=bank,
                    content_id=content_id,
                    detail={"reason": reason, "downgraded_events": [e.id for e in blocked]},
                )
            )
            enqueue(
                s,
                "quarantine",
                {"content_id": content_id, "bank": bank, "reason": reason},
                f"quarantine:{content_id}:{now.timestamp()}",
            )
        return True

    def release(self, content_id: int, actor: Actor) -> QuarantineInfo:
        """End a pause (audited); its matches block again where rules say so."""
        actor.require(
            actor.is_admin or actor.has("child_safety"), "release quarantined bank entries"
        )
        with self.db.write_transaction() as s:
            row = s.get(QuarantinedEntry, content_id, with_for_update=True)
            if row is None:
                raise ContentNotFound(f"bank entry {content_id} is not quarantined")
            if row.released_at is None:
                row.released_at, row.released_by = utcnow(), actor.user or actor.name
                audit(
                    s, actor.name, "quarantine.release", f"content:{content_id}", bank=row.bank_name
                )
            info = _info(row)
        self._paused = (0.0, set())
        return info

    def list(self, actor: Actor, *, include_released: bool = False) -> list[QuarantineInfo]:
        actor.require(actor.may_see_case(True), "see quarantined bank entries")
        q = select(QuarantinedEntry).order_by(QuarantinedEntry.since.desc())
        if not include_released:
            q = q.where(QuarantinedEntry.released_at.is_(None))
        with self.db.transaction() as s:
            return [_info(r) for r in s.scalars(q)]


def _info(row: QuarantinedEntry) -> QuarantineInfo:
    return QuarantineInfo(
        row.content_id, row.bank_name, row.since, row.reason, row.released_at, row.released_by
    )
