"""`Matcher`: lookups against every enabled bank, kept current without rebuilding.

The matcher loads one index per signal type (enabled banks only) on first use. After that it
follows the change log (`ChangeFeed`) and applies each committed change incrementally: a
content item added or removed adds or removes its index entries, a bank disabled or deleted
drops its entries, a bank enabled loads them, a bank updated changes its threshold. Each
change is applied by reconciling with the current rows in the store, so applying one twice,
or out of order, leaves the same result. This is what keeps several server processes on one
database in step (see docs/api.md, "Replicas").

Lookups query each index once at the largest threshold in use and then apply each bank's own
threshold, so one pass serves every bank; negative banks suppress matches (see `results`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from safeguard.errors import IndexNotReady
from safeguard.index import SignalIndex, index_for
from safeguard.matching.entries import EntryTable
from safeguard.matching.feed import ChangeFeed, ChangeRow
from safeguard.matching.results import Match, MatchResult
from safeguard.signals import SIGNAL_TYPES
from safeguard.store import Bank, Content, ContentSignal, Database

log = logging.getLogger(__name__)

#: how many matched content items' metadata each matcher keeps
_META_CACHE = 100_000

# (entry id, content id, bank id, signal type, value)
_Row = tuple[int, int, int, str, str]


@dataclass(frozen=True)
class _BankMeta:
    name: str
    threshold: int
    negative: bool
    ratio: float

    @classmethod
    def of(cls, b: Bank) -> _BankMeta:
        return cls(b.name, b.pdq_threshold, b.negative, b.match_ratio)


@dataclass
class _TypeIndex:
    index: SignalIndex
    entries: EntryTable


@dataclass(frozen=True)
class IndexStatus:
    """What the matcher holds: readiness, sizes per signal type, and how current it is."""

    ready: bool
    sizes: dict[str, int]
    banks: int
    change_cursor: int
    built_at: float | None
    caught_up_at: float | None
    rebuilds: int
    changes_applied: int

    def age(self) -> float | None:
        """Seconds since the matcher last confirmed it had every committed change."""
        return None if self.caught_up_at is None else time.time() - self.caught_up_at


class Matcher:
    """Matches signals against every enabled bank. Thread-safe.

    With `auto_refresh` (the default, for the library and CLI) every lookup first applies
    the changes committed since the last one: one indexed query. A server turns it off and
    calls `refresh()` from a background thread instead (safeguard.api.follower).
    """

    def __init__(self, db: Database, *, auto_refresh: bool = True) -> None:
        self.db = db
        self.auto_refresh = auto_refresh
        self._lock = threading.RLock()
        self._feed = ChangeFeed(db)
        self._banks: dict[int, _BankMeta] = {}
        self._types: dict[str, _TypeIndex] | None = None
        self._built_at: float | None = None
        self._caught_up_at: float | None = None
        self._rebuilds = 0
        self._applied = 0
        # external id and switch-off time of recently matched content; changes evict
        self._meta: OrderedDict[int, tuple[str | None, datetime | None]] = OrderedDict()
        self._applied_batches = 0

    # -- keeping current --------------------------------------------------------------------

    def refresh(self, force: bool = False) -> int:
        """Load the indexes on first use (or when forced); otherwise apply the changes
        committed since the last refresh. Returns how many change rows were applied."""
        with self._lock:
            if force or self._types is None:
                self._build()
                return 0
            n = 0
            while True:
                rows = self._feed.poll()
                if rows:
                    self._apply(rows)
                    n += len(rows)
                if len(rows) < self._feed.batch:
                    break
            self._caught_up_at = time.time()
            self._applied += n
            return n

    def status(self) -> IndexStatus:
        with self._lock:
            types = self._types or {}
            return IndexStatus(
                ready=self._types is not None,
                sizes={t: len(ti.entries) for t, ti in types.items()},
                banks=len(self._banks),
                change_cursor=self._feed.cursor,
                built_at=self._built_at,
                caught_up_at=self._caught_up_at,
                rebuilds=self._rebuilds,
                changes_applied=self._applied,
            )

    def _build(self) -> None:
        self._feed.reset_to_head()  # before loading: later changes are applied on top
        banks: dict[int, _BankMeta] = {}
        # one list per column and type: far smaller than a tuple per row for large banks
        cols: dict[str, tuple[list[int], list[int], list[int], list[str]]] = {
            t: ([], [], [], []) for t in SIGNAL_TYPES
        }
        with self.db.transaction() as s:
            for b in s.scalars(select(Bank).where(Bank.enabled.is_(True))):
                banks[b.id] = _BankMeta.of(b)
            q = (
                _signal_rows()
                .join(Bank, Bank.id == ContentSignal.bank_id)
                .where(Bank.enabled.is_(True))
                .order_by(ContentSignal.id)
            )
            for sid, cid, bid, t, v in s.execute(q).yield_per(50_000):
                if t in cols:
                    c = cols[t]
                    c[0].append(sid)
                    c[1].append(cid)
                    c[2].append(bid)
                    c[3].append(v)
        types: dict[str, _TypeIndex] = {}
        for t, (sids, cids, bids, values) in cols.items():
            types[t] = _TypeIndex(
                index=index_for(t, sids, values),
                entries=EntryTable(
                    np.array(sids, dtype=np.int64),
                    np.array(cids, dtype=np.int64),
                    np.array(bids, dtype=np.int64),
                ),
            )
        self._banks, self._types = banks, types
        self._built_at = self._caught_up_at = time.time()
        self._rebuilds += 1

    def _apply(self, rows: list[ChangeRow]) -> None:
        """Reconcile the indexes with the store for everything these changes touched."""
        self._applied_batches += 1
        bank_ids: set[int] = set()
        content_ids: set[int] = set()
        imports: list[tuple[int, int, int]] = []
        for r in rows:
            if r.action.startswith("bank.") and r.bank_id is not None:
                bank_ids.add(r.bank_id)
            elif r.action == "content.import" and r.bank_id is not None:
                lo, hi = r.detail.get("first_content_id"), r.detail.get("last_content_id")
                if isinstance(lo, int) and isinstance(hi, int):
                    imports.append((r.bank_id, lo, hi))
            elif r.action.startswith("content.") and r.content_id is not None:
                content_ids.add(r.content_id)
                self._meta.pop(r.content_id, None)
            # other actions (API keys, and later reviews and referrals) leave indexes alone
        with self.db.transaction() as s:
            for bank_id in sorted(bank_ids):
                b = s.get(Bank, bank_id)
                if b is None or not b.enabled:
                    if self._banks.pop(bank_id, None) is not None:
                        self._remove_bank(bank_id)
                    continue
                known = bank_id in self._banks
                self._banks[bank_id] = _BankMeta.of(b)
                if not known:
                    rows_ = s.execute(_signal_rows().where(ContentSignal.bank_id == bank_id))
                    self._add(rows_)
            for bank_id, lo, hi in imports:
                if bank_id in self._banks:
                    q = _signal_rows().where(
                        ContentSignal.bank_id == bank_id, ContentSignal.content_id.between(lo, hi)
                    )
                    self._add(s.execute(q))
            ids = sorted(content_ids)
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                current = s.execute(_signal_rows().where(ContentSignal.content_id.in_(chunk)))
                self._reconcile_contents(chunk, [tuple(r) for r in current])

    def _add(self, rows: Iterable[Sequence[object]]) -> None:
        assert self._types is not None
        by_type: dict[str, list[tuple[int, str]]] = {}
        for sid, cid, bid, t, v in rows:
            ti = self._types.get(str(t))
            if ti is None or int(bid) not in self._banks:  # type: ignore[call-overload]
                continue
            if ti.entries.add(int(sid), int(cid), int(bid)):  # type: ignore[call-overload]
                by_type.setdefault(str(t), []).append((int(sid), str(v)))  # type: ignore[call-overload]
        for t, entries in by_type.items():
            self._types[t].index.add(entries)

    def _remove_bank(self, bank_id: int) -> None:
        assert self._types is not None
        for ti in self._types.values():
            gone = ti.entries.remove_bank(bank_id)
            if gone:
                ti.index.remove(gone)

    def _reconcile_contents(self, content_ids: list[int], current: list[_Row]) -> None:
        assert self._types is not None
        wanted = {r[0] for r in current}
        for ti in self._types.values():
            stale = [e for e in ti.entries.entries_of(content_ids) if e not in wanted]
            if stale:
                ti.entries.remove(stale)
                ti.index.remove(stale)
        self._add(current)

    # -- lookups -----------------------------------------------------------------------------

    def lookup(
        self,
        signals: dict[str, str],
        banks: Collection[str] | None = None,
        *,
        coinflip: float | None = None,
        include_disabled: bool = False,
    ) -> MatchResult:
        return self.lookup_many(
            [signals], banks, coinflip=coinflip, include_disabled=include_disabled
        )[0]

    def lookup_many(
        self,
        queries: Sequence[dict[str, str]],
        banks: Collection[str] | None = None,
        *,
        coinflip: float | None = None,
        include_disabled: bool = False,
    ) -> list[MatchResult]:
        """Match many queries (each a {signal type: canonical value} dict) in one pass.

        `banks` limits the matches to banks of these names; with `coinflip` (0-1) a bank
        takes part only when its match ratio is at least that (HMA's gradual roll-out);
        content switched off by a moderator matches only with `include_disabled`.
        """
        if self.auto_refresh:
            self.refresh()
        raw: list[list[tuple[str, int, int, int]]] = [[] for _ in queries]
        with self._lock:
            if self._types is None:
                raise IndexNotReady("the match index is still loading; try again shortly")
            meta = self._banks
            for t, ti in self._types.items():
                wanted = [(qi, q[t]) for qi, q in enumerate(queries) if t in q]
                if not wanted or len(ti.entries) == 0:
                    continue
                max_d = max((b.threshold for b in meta.values()), default=0) if t == "pdq" else 0
                found = ti.index.query_many([v for _, v in wanted], max_d)
                for (qi, _), hits in zip(wanted, found, strict=True):
                    for entry_id, dist in hits:
                        owner = ti.entries.get(entry_id)
                        if owner is None:
                            continue
                        cid, bid = owner
                        bank = meta.get(bid)
                        if bank is None or (t == "pdq" and dist > bank.threshold):
                            continue
                        if banks is not None and bank.name not in banks:
                            continue
                        if coinflip is not None and bank.ratio < coinflip:
                            continue
                        raw[qi].append((t, bid, cid, dist))
            names = {bid: meta[bid] for hits in raw for _, bid, _, _ in hits}
        external, disabled = self._content_meta({cid for hits in raw for _, _, cid, _ in hits})
        results = []
        for hits in raw:
            if disabled and not include_disabled:
                hits = [h for h in hits if h[2] not in disabled]
            hits.sort(key=lambda h: (h[3], names[h[1]].name, h[2], h[0]))
            found = [
                (names[b].negative, Match(names[b].name, c, t, d, external.get(c)))
                for t, b, c, d in hits
            ]
            results.append(
                MatchResult.from_hits(
                    positive=[m for neg, m in found if not neg],
                    negative=[m for neg, m in found if neg],
                )
            )
        return results

    def _content_meta(self, content_ids: set[int]) -> tuple[dict[int, str | None], set[int]]:
        """External ids of matched content, and which of it is switched off right now.

        Read from a bounded cache of recently matched items (changes to an item evict it),
        else with one indexed query."""
        if not content_ids:
            return {}, set()
        with self._lock:
            found = {c: self._meta[c] for c in content_ids if c in self._meta}
            generation = self._applied_batches
        missing = sorted(content_ids - found.keys())
        if missing:
            with self.db.engine.connect() as conn:
                rows = conn.execute(
                    select(Content.id, Content.external_id, Content.disabled_until).where(
                        Content.id.in_(missing)
                    )
                ).all()
            with self._lock:
                # cache only what no change applied meanwhile can have made stale
                fresh = generation == self._applied_batches
                for cid, ext, until in rows:
                    found[cid] = (ext, until)
                    if fresh:
                        self._meta[cid] = (ext, until)
                while len(self._meta) > _META_CACHE:
                    self._meta.popitem(last=False)
        now = datetime.now(UTC)
        external = {cid: ext for cid, (ext, _) in found.items()}
        disabled = {cid for cid, (_, until) in found.items() if until is not None and until > now}
        return external, disabled


def _signal_rows():  # type: ignore[no-untyped-def]
    return select(
        ContentSignal.id,
        ContentSignal.content_id,
        ContentSignal.bank_id,
        ContentSignal.signal_type,
        ContentSignal.signal_value,
    )
