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
Local features (signals/local.py) are indexed like a signal type named `local`, read from
their own table; they count only for banks with `local_features` on, and so do those of the
query's mirror image (`local:flip_h`), which that option alone governs.

With a snapshot directory (`snapshot_dir`) the first build starts from the newest valid
snapshot there (matching/snapshots.py) and applies the change log from its position before
it answers; `save_snapshot` writes one. A snapshot that fails any check is skipped, with a
log line, and the index is built from the store as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import literal, select

from safeguard.banks.service import effective_thresholds
from safeguard.errors import IndexNotReady
from safeguard.index import MihPdqIndex, SignalIndex, index_for
from safeguard.index.words import WordIndex
from safeguard.matching import snapshots
from safeguard.matching.entries import EntryTable
from safeguard.matching.feed import ChangeFeed, ChangeRow
from safeguard.matching.results import Match, MatchResult
from safeguard.signals import SignalType, local, signal_types
from safeguard.store import Bank, Content, ContentFeatures, ContentSignal, Database
from safeguard.store.models import signal_rows

log = logging.getLogger(__name__)

#: how many matched content items' metadata each matcher keeps
_META_CACHE = 100_000
#: queries matched per hold of the lock
_LOOKUP_CHUNK = 256

# (entry id, content id, bank id, signal type, value)
_Row = tuple[int, int, int, str, str]
# (signal type, bank id, content id, distance, query variant or "")
_Hit = tuple[str, int, int, int, str]


@dataclass(frozen=True)
class _BankMeta:
    name: str
    thresholds: dict[str, int]
    negative: bool
    ratio: float
    dihedral: bool = True
    trim_borders: bool = True
    local_features: bool = True

    @classmethod
    def of(cls, b: Bank) -> _BankMeta:
        return cls(
            b.name,
            effective_thresholds(b.thresholds),
            b.negative,
            b.match_ratio,
            b.dihedral,
            b.trim_borders,
            b.local_features,
        )

    def counts(self, st: type[SignalType], variant: str) -> bool:
        """Whether this bank takes hits of type `st` through query variant `variant`: the
        type's bank option (if any) is on, and the type allows the variant here."""
        if st.bank_option is not None and not getattr(self, st.bank_option, False):
            return False
        return not variant or st.allows_variant(self, variant)


@dataclass
class _TypeIndex:
    index: SignalIndex
    entries: EntryTable


@dataclass
class _Plan:
    """What a batch of changes needs: bank states (None: gone or disabled), rows to add,
    and the current rows of each touched content item."""

    banks: dict[int, _BankMeta | None] = field(default_factory=dict)
    added: list[_Row] = field(default_factory=list)
    contents: dict[int, list[_Row]] = field(default_factory=dict)


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
    #: where the last build came from: "store" (every row read) or "snapshot"
    source: str = "store"
    #: the version (change-log cursor) of the snapshot it started from, if any
    snapshot_version: int | None = None

    def age(self) -> float | None:
        """Seconds since the matcher last confirmed it had every committed change."""
        return None if self.caught_up_at is None else time.time() - self.caught_up_at


class Matcher:
    """Matches signals against every enabled bank. Thread-safe.

    With `auto_refresh` (the default, for the library and CLI) every lookup first applies
    the changes committed since the last one: one indexed query. A server turns it off and
    calls `refresh()` from a background thread instead (safeguard.api.follower).
    """

    def __init__(
        self,
        db: Database,
        *,
        auto_refresh: bool = True,
        snapshot_dir: str | Path | None = None,
    ) -> None:
        self.db = db
        self.auto_refresh = auto_refresh
        #: where builds look for a snapshot to start from (set it before the first build)
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir is not None else None
        self._source = "store"
        self._snapshot_version: int | None = None
        # _lock guards the in-memory structures and is held only for in-memory work, so
        # lookups never wait on the database; _write_lock serializes builds and refreshes
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._needs_rebuild = False
        # match records (events/) are the bulk of the log and change no index: skipped
        # without reading their rows
        self._feed = ChangeFeed(db, skip=("match.",))
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
        """Load the indexes on first use (or when forced, or after a failed update);
        otherwise apply the changes committed since the last refresh. Returns how many
        change rows were applied. Lookups go on meanwhile, on the previous state."""
        with self._write_lock:
            if force or self._types is None or self._needs_rebuild:
                self._build()
                return 0
            return self._catch_up()

    def _catch_up(self) -> int:
        """Apply every change committed since the feed's position (under _write_lock)."""
        n = 0
        while True:
            batch = self._feed.poll()
            if batch.rows:
                try:
                    plan = self._read_changes(batch.rows)
                    with self._lock:
                        self._apply(plan)
                except Exception:
                    # half-applied or unreadable: rebuild from the store next time
                    self._needs_rebuild = True
                    raise
            self._feed.advance(batch)
            n += len(batch.rows)
            if max(batch.scanned, len(batch.rows)) < self._feed.batch:
                break
        self._caught_up_at = time.time()
        self._applied += n
        return n

    @property
    def ready(self) -> bool:
        """True once the index is loaded (lookups raise IndexNotReady before)."""
        return self._types is not None

    def status(self) -> IndexStatus:
        """A lock-free snapshot (it never waits for a build or a refresh)."""
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
            source=self._source,
            snapshot_version=self._snapshot_version,
        )

    def _build(self) -> None:
        if self.snapshot_dir is not None and self._build_from_snapshot(self.snapshot_dir):
            return
        self._feed.reset_to_head()  # before loading: later changes are applied on top
        banks: dict[int, _BankMeta] = {}
        # one list per column and type: far smaller than a tuple per row for large banks
        cols: dict[str, tuple[list[int], list[int], list[int], list[str]]] = {
            t: ([], [], [], []) for t in signal_types()
        }
        with self.db.transaction() as s:
            for b in s.scalars(select(Bank).where(Bank.enabled.is_(True))):
                banks[b.id] = _BankMeta.of(b)
            for rows, table, order in (
                (_signal_rows(), ContentSignal, ContentSignal.id),
                (_feature_rows(), ContentFeatures, ContentFeatures.content_id),
            ):
                q = (
                    rows.join(Bank, Bank.id == table.bank_id)
                    .where(Bank.enabled.is_(True))
                    .order_by(order)
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
        with self._lock:
            self._banks, self._types = banks, types
            self._meta.clear()
            self._applied_batches += 1
        self._needs_rebuild = False
        self._built_at = self._caught_up_at = time.time()
        self._rebuilds += 1
        self._source, self._snapshot_version = "store", None

    # -- snapshots ---------------------------------------------------------------------------

    def _build_from_snapshot(self, directory: Path) -> bool:
        """Start from the newest valid snapshot and apply the change log from its position,
        on a scratch matcher, then take its state: lookups see the old state (or none) until
        the new one is current. False (logged) when there is none or catching up fails."""
        t0 = time.perf_counter()
        makers = {t: st.make_index for t, st in signal_types().items()}
        state = snapshots.load_newest(directory, self.db, makers)
        if state is None:
            return False
        scratch = Matcher(self.db, auto_refresh=False)
        try:
            scratch._install(state)
            loaded = time.perf_counter() - t0
            applied = scratch._catch_up()
        except Exception as e:
            log.warning(
                "index snapshot %s: catching up failed (%s: %s); building from the store",
                state.path,
                type(e).__name__,
                e,
            )
            return False
        with self._lock:
            self._banks, self._types = scratch._banks, scratch._types
            self._feed = scratch._feed
            self._meta.clear()
            self._applied_batches += 1
        self._needs_rebuild = False
        self._built_at = self._caught_up_at = time.time()
        self._rebuilds += 1
        self._applied += applied
        self._source, self._snapshot_version = "snapshot", state.version
        log.info(
            "index loaded from snapshot %s in %.2f s, then %d changes applied in %.2f s",
            state.path,
            loaded,
            applied,
            time.perf_counter() - t0 - loaded,
        )
        return True

    def _install(self, state: snapshots.MatcherState) -> None:
        """Take a loaded snapshot's state (a scratch matcher, before any lookup); types the
        snapshot left to the store are read from it, for the snapshot's banks."""
        self._feed.resume(state.cursor, state.gaps)
        self._banks = {bid: _BankMeta(**meta) for bid, meta in state.banks.items()}
        types: dict[str, _TypeIndex] = {}
        for t, ts in state.types.items():
            if ts.index is None:
                sids, cids, bids, values = self._read_type(t, sorted(self._banks))
                types[t] = _TypeIndex(
                    index_for(t, sids, values),
                    EntryTable(
                        np.array(sids, dtype=np.int64),
                        np.array(cids, dtype=np.int64),
                        np.array(bids, dtype=np.int64),
                    ),
                )
            else:
                types[t] = _TypeIndex(ts.index, EntryTable(*ts.entries))
        self._types = types

    def _read_type(
        self, signal_type: str, bank_ids: list[int]
    ) -> tuple[list[int], list[int], list[int], list[str]]:
        """Every row of one signal type in these banks, straight from the store."""
        cols: tuple[list[int], list[int], list[int], list[str]] = ([], [], [], [])
        if not bank_ids:
            return cols
        if signal_type == local.NAME:
            q = _feature_rows().where(ContentFeatures.bank_id.in_(bank_ids))
        else:
            q = _signal_rows().where(
                ContentSignal.signal_type == signal_type, ContentSignal.bank_id.in_(bank_ids)
            )
        with self.db.transaction() as s:
            for sid, cid, bid, _, v in s.execute(q).yield_per(50_000):
                cols[0].append(sid)
                cols[1].append(cid)
                cols[2].append(bid)
                cols[3].append(v)
        return cols

    def save_snapshot(self, directory: str | Path, *, keep: int = 2) -> Path:
        """Write a snapshot of the current state under `directory` (named by the change-log
        cursor; kept as it is when one of that version exists) and delete all but the
        newest `keep`. Returns its directory.

        The state is captured under the write lock, so it and the cursor agree: that takes
        a moment (live flags and entry arrays are copied); the files are written after it
        is released, while lookups and refreshes go on."""
        if self._types is None:
            self.refresh()
        with self._write_lock:
            state = self._capture()
        return snapshots.write(directory, state, self.db, keep=keep)

    def _capture(self) -> snapshots.MatcherState:
        assert self._types is not None
        cursor, gaps = self._feed.cursor, self._feed.gaps
        types: dict[str, snapshots.TypeState] = {}
        for t, ti in self._types.items():
            ts = snapshots.TypeState(entries=ti.entries.arrays())
            items = getattr(ti.index, "items", None)
            if isinstance(ti.index, MihPdqIndex):
                ts.mih = ti.index.freeze()
            elif isinstance(ti.index, WordIndex):
                ts.words = ti.index.freeze()
            elif callable(items):
                pairs = list(items())
                ts.values = (
                    np.fromiter((int(i) for i, _ in pairs), np.int64, len(pairs)),
                    [str(v) for _, v in pairs],
                )
            types[t] = ts
        return snapshots.MatcherState(
            cursor=cursor,
            gaps=gaps,
            banks={bid: asdict(meta) for bid, meta in self._banks.items()},
            types=types,
            anchor=snapshots.anchor_of(self.db, cursor),
        )

    def _read_changes(self, rows: list[ChangeRow]) -> _Plan:
        """Read from the store what these changes touched (no in-memory state changes)."""
        plan = _Plan()
        imports: list[tuple[int, int, int]] = []
        for r in rows:
            if r.action.startswith("bank.") and r.bank_id is not None:
                plan.banks[r.bank_id] = None
            elif r.action == "content.import" and r.bank_id is not None:
                lo, hi = r.detail.get("first_content_id"), r.detail.get("last_content_id")
                if isinstance(lo, int) and isinstance(hi, int):
                    imports.append((r.bank_id, lo, hi))
            elif r.action.startswith("content.") and r.content_id is not None:
                plan.contents[r.content_id] = []
            # other actions (API keys, and later reviews and referrals) leave indexes alone
        with self.db.transaction() as s:
            for bank_id in sorted(plan.banks):
                b = s.get(Bank, bank_id)
                if b is None or not b.enabled:
                    continue
                plan.banks[bank_id] = _BankMeta.of(b)
                if bank_id not in self._banks:  # newly enabled: load its entries
                    for q in _rows_where("bank_id", [bank_id]):
                        plan.added.extend(tuple(r) for r in s.execute(q))
            for bank_id, lo, hi in imports:
                q = _signal_rows().where(
                    ContentSignal.bank_id == bank_id, ContentSignal.content_id.between(lo, hi)
                )
                plan.added.extend(tuple(r) for r in s.execute(q))
            ids = sorted(plan.contents)
            for i in range(0, len(ids), 500):
                for q in _rows_where("content_id", ids[i : i + 500]):
                    for row in s.execute(q):
                        plan.contents[row[1]].append(tuple(row))
        return plan

    def _apply(self, plan: _Plan) -> None:
        """Bring the in-memory structures in line with what `_read_changes` found."""
        self._applied_batches += 1
        for bank_id, meta in plan.banks.items():
            if meta is None:
                if self._banks.pop(bank_id, None) is not None:
                    self._remove_bank(bank_id)
            else:
                self._banks[bank_id] = meta
        self._add(plan.added)
        if plan.contents:
            for cid in plan.contents:
                self._meta.pop(cid, None)
            self._reconcile_contents(
                list(plan.contents), [r for rows in plan.contents.values() for r in rows]
            )

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

    def lookup_cached(
        self, signals: dict[str, str], banks: Collection[str] | None = None
    ) -> MatchResult | None:
        """As `lookup`, but None where answering needs a database read (a matched item whose
        external id is not in the cache): CPU only, so an event loop may call it inline and
        send the rest to a thread."""
        found = self._lookup([signals], banks, None, False, cached_only=True)
        return None if found is None else found[0]

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
        found = self._lookup(queries, banks, coinflip, include_disabled, cached_only=False)
        assert found is not None
        return found

    def _lookup(
        self,
        queries: Sequence[dict[str, str]],
        banks: Collection[str] | None,
        coinflip: float | None,
        include_disabled: bool,
        *,
        cached_only: bool,
    ) -> list[MatchResult] | None:
        if self.auto_refresh:
            self.refresh()
        if self._types is None:
            raise IndexNotReady("the match index is still loading; try again shortly")
        raw: list[list[_Hit]] = []
        names: dict[int, _BankMeta] = {}
        for start in range(0, len(queries), _LOOKUP_CHUNK):
            # the lock is taken per chunk, so a large batch never holds up other lookups
            with self._lock:
                chunk = self._hits(queries[start : start + _LOOKUP_CHUNK], banks, coinflip)
                names.update({hit[1]: self._banks[hit[1]] for hits in chunk for hit in hits})
            raw.extend(chunk)
        meta = self._content_meta({h[2] for hits in raw for h in hits}, cached_only)
        if meta is None:
            return None
        external, disabled = meta
        results = []
        for hits in raw:
            if disabled and not include_disabled:
                hits = [h for h in hits if h[2] not in disabled]
            hits.sort(key=lambda h: (h[3], names[h[1]].name, h[2], h[0]))
            found = [
                (names[b].negative, Match(names[b].name, c, t, d, external.get(c), v or None))
                for t, b, c, d, v in hits
            ]
            results.append(
                MatchResult.from_hits(
                    positive=[m for neg, m in found if not neg],
                    negative=[m for neg, m in found if neg],
                )
            )
        return results

    def _hits(
        self,
        queries: Sequence[dict[str, str]],
        banks: Collection[str] | None,
        coinflip: float | None,
    ) -> list[list[_Hit]]:
        """Each query's hits (under _lock): the closest per bank and content item, over the
        query's signals and, where the bank allows them, its variants (`<type>:<variant>`:
        PDQ's rotations and flips, the local features of its mirror image...)."""
        best: list[dict[tuple[str, int, int], _Hit]] = [{} for _ in queries]
        meta = self._banks
        types = signal_types()
        for t, ti in (self._types or {}).items():
            wanted = [
                (qi, key.partition(":")[2], value)
                for qi, q in enumerate(queries)
                for key, value in q.items()
                if key == t or key.startswith(t + ":")
            ]
            if not wanted or len(ti.entries) == 0:
                continue
            st = types[t]
            max_d = max((b.thresholds.get(t, 0) for b in meta.values()), default=0)
            found = ti.index.query_many([v for _, _, v in wanted], max_d)
            for (qi, variant, _), hits in zip(wanted, found, strict=True):
                for entry_id, dist in hits:
                    owner = ti.entries.get(entry_id)
                    if owner is None:
                        continue
                    cid, bid = owner
                    bank = meta.get(bid)
                    if bank is None or dist > bank.thresholds.get(t, 0):
                        continue
                    if banks is not None and bank.name not in banks:
                        continue
                    if coinflip is not None and bank.ratio < coinflip:
                        continue
                    if not bank.counts(st, variant):
                        continue
                    key = (t, bid, cid)
                    hit = (t, bid, cid, dist, variant)
                    old = best[qi].get(key)
                    if old is None or (dist, variant != "") < (old[3], old[4] != ""):
                        best[qi][key] = hit
        return [list(b.values()) for b in best]

    def _content_meta(
        self, content_ids: set[int], cached_only: bool = False
    ) -> tuple[dict[int, str | None], set[int]] | None:
        """External ids of matched content, and which of it is switched off right now.

        Read from a bounded cache of recently matched items (changes to an item evict it),
        else with one indexed query (None instead, with `cached_only`)."""
        if not content_ids:
            return {}, set()
        with self._lock:
            found = {c: self._meta[c] for c in content_ids if c in self._meta}
            generation = self._applied_batches
        missing = sorted(content_ids - found.keys())
        if missing and cached_only:
            return None
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


def _signal_rows():
    return signal_rows()


def _feature_rows():
    """Local features in the shape of `_signal_rows` (their entry id is the content id)."""
    return select(
        ContentFeatures.content_id.label("entry_id"),
        ContentFeatures.content_id,
        ContentFeatures.bank_id,
        literal(local.NAME),
        ContentFeatures.value,
    )


def _rows_where(column: str, values: Sequence[int]):
    """Signal rows and local-feature rows whose `column` (bank_id or content_id) is one of
    `values`."""
    return (
        _signal_rows().where(getattr(ContentSignal, column).in_(values)),
        _feature_rows().where(getattr(ContentFeatures, column).in_(values)),
    )
