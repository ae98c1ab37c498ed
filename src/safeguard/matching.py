"""Lookup: signals of a query -> matches in banks, applying per-bank thresholds and negative banks.

The `Matcher` builds one in-memory index per signal type from the store (enabled banks only)
and rebuilds it when the change log moves. Rules for negative banks (known false positives):

- a query that matches a negative bank by MD5 or SHA-256 is a known-benign file: every
  positive match of that query is suppressed;
- a PDQ match in a negative bank suppresses positive PDQ matches that are no closer to the
  query than the negative one: the query looks more like the known false positive;
- a positive MD5 or SHA-256 match is never suppressed by a PDQ-only negative match.

Suppressed matches are reported in `suppressed`, never silently dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from sqlalchemy import func, select

from safeguard.index import SignalIndex, index_for
from safeguard.signals import SIGNAL_TYPES
from safeguard.store import Bank, Change, Content, ContentSignal, Database

#: how far below the newest change-log id a late-committing change is still noticed
_LATE_COMMIT_WINDOW = 100_000


@dataclass(frozen=True)
class Match:
    bank: str
    content_id: int
    signal_type: str
    distance: int
    external_id: str | None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class MatchResult:
    """Matches of one query. `matches` holds only those that stand after negative banks."""

    matches: list[Match] = field(default_factory=list)
    negative_matches: list[Match] = field(default_factory=list)
    suppressed: list[Match] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    def to_json(self) -> dict[str, object]:
        return {
            "matches": [m.to_json() for m in self.matches],
            "negative_matches": [m.to_json() for m in self.negative_matches],
            "suppressed": [m.to_json() for m in self.suppressed],
        }


@dataclass(frozen=True)
class _BankMeta:
    name: str
    threshold: int
    negative: bool


@dataclass
class _TypeIndex:
    index: SignalIndex
    entry_ids: np.ndarray  # sorted signal row ids
    content_ids: np.ndarray
    bank_ids: np.ndarray


class Matcher:
    """Matches signals against every enabled bank. Thread-safe; refreshes on change."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._head: tuple[int, int] | None = None
        self._banks: dict[int, _BankMeta] = {}
        self._types: dict[str, _TypeIndex] = {}

    def refresh(self, force: bool = False) -> None:
        """Rebuild the indexes if anything changed since they were built.

        The state is identified by the newest change-log id and the number of change rows
        in the window just below it. On PostgreSQL a transaction can commit after another
        that took a later id; its row then appears below the newest id, which the count
        notices (the max alone would not).
        """
        with self.db.transaction() as s:
            newest = s.scalar(select(func.max(Change.id))) or 0
            recent = s.scalar(select(func.count()).where(Change.id > newest - _LATE_COMMIT_WINDOW))
        state = (newest, int(recent or 0))
        with self._lock:
            if force or state != self._head:
                self._build(state)

    def _build(self, head: tuple[int, int]) -> None:
        banks: dict[int, _BankMeta] = {}
        # one list per column and type: far smaller than a tuple per row for large banks
        cols: dict[str, tuple[list[int], list[int], list[int], list[str]]] = {
            t: ([], [], [], []) for t in SIGNAL_TYPES
        }
        with self.db.transaction() as s:
            for b in s.scalars(select(Bank).where(Bank.enabled.is_(True))):
                banks[b.id] = _BankMeta(b.name, b.pdq_threshold, b.negative)
            q = (
                select(
                    ContentSignal.id,
                    ContentSignal.content_id,
                    ContentSignal.bank_id,
                    ContentSignal.signal_type,
                    ContentSignal.signal_value,
                )
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
                entry_ids=np.array(sids, dtype=np.int64),
                content_ids=np.array(cids, dtype=np.int64),
                bank_ids=np.array(bids, dtype=np.int64),
            )
        self._banks, self._types, self._head = banks, types, head

    def lookup(self, signals: dict[str, str]) -> MatchResult:
        return self.lookup_many([signals])[0]

    def lookup_many(self, queries: Sequence[dict[str, str]]) -> list[MatchResult]:
        """Match many queries (each a {signal type: canonical value} dict) in one pass."""
        self.refresh()
        with self._lock:
            banks, types = self._banks, self._types
        raw: list[list[tuple[str, int, int, int]]] = [[] for _ in queries]
        for t, ti in types.items():
            wanted = [(qi, q[t]) for qi, q in enumerate(queries) if t in q]
            if not wanted or len(ti.entry_ids) == 0:
                continue
            max_d = max((b.threshold for b in banks.values()), default=0) if t == "pdq" else 0
            found = ti.index.query_many([v for _, v in wanted], max_d)
            for (qi, _), hits in zip(wanted, found, strict=True):
                for entry_id, dist in hits:
                    pos = int(np.searchsorted(ti.entry_ids, entry_id))
                    bank = banks.get(int(ti.bank_ids[pos]))
                    if bank is None or (t == "pdq" and dist > bank.threshold):
                        continue
                    raw[qi].append((t, int(ti.bank_ids[pos]), int(ti.content_ids[pos]), dist))
        external = self._external_ids({cid for hits in raw for _, _, cid, _ in hits})
        results = []
        for hits in raw:
            hits.sort(key=lambda h: (h[3], banks[h[1]].name, h[2], h[0]))
            neg = [
                Match(banks[b].name, c, t, d, external.get(c))
                for t, b, c, d in hits
                if banks[b].negative
            ]
            pos = [
                Match(banks[b].name, c, t, d, external.get(c))
                for t, b, c, d in hits
                if not banks[b].negative
            ]
            results.append(
                MatchResult(
                    matches=[m for m in pos if not _suppressed_by(m, neg)],
                    negative_matches=neg,
                    suppressed=[m for m in pos if _suppressed_by(m, neg)],
                )
            )
        return results

    def _external_ids(self, content_ids: set[int]) -> dict[int, str | None]:
        if not content_ids:
            return {}
        with self.db.transaction() as s:
            return dict(
                s.execute(
                    select(Content.id, Content.external_id).where(Content.id.in_(content_ids))
                ).all()
            )


def _suppressed_by(positive: Match, negatives: list[Match]) -> bool:
    for n in negatives:
        if SIGNAL_TYPES[n.signal_type].exact:
            return True
        if n.signal_type == positive.signal_type and n.distance <= positive.distance:
            return True
    return False
