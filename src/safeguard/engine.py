"""The library API: one `Safeguard` object to hash content, keep banks and match against them.

    from safeguard import Safeguard

    with Safeguard.open() as sg:                  # SAFEGUARD_HOME / SAFEGUARD_DATABASE_URL
        sg.banks.create("known-images", pdq_threshold=31)
        sg.add_file("known-images", "listed.jpg", Provenance(source="NCMEC", external_id="A1"))
        result = sg.match_file("upload.jpg")
        if result.matched:
            ...

The CLI and the HTTP API are thin layers over this class: everything they do with banks,
hashes and matches goes through it (`match` with banks, coin flip, switched-off content and a
file's variants and local features; `add_hashed`; `changes`; `compare`; `signal_types`), so
neither names a signal type, a threshold or a table.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Literal

from sqlalchemy import select
from sqlalchemy.engine import make_url

from safeguard.banks import BankService, HashRecord, ImportReport, Provenance
from safeguard.banks.formats import EmptyHashList, read_hash_list, write_hash_list
from safeguard.banks.records import AddResult, BankInfo
from safeguard.config import Settings
from safeguard.errors import FileProblem, InvalidRequest, InvalidSignal
from safeguard.events.recorder import MatchRecorder
from safeguard.matching import IndexStatus, Matcher, MatchResult
from safeguard.signals import LocalSignal, SignalType, get_signal_type, validate_signals
from safeguard.signals import signal_types as _registry
from safeguard.signals.files import (
    FileSignals,
    hash_bytes,
    hash_file,
    hash_paths,
    iter_input_files,
)
from safeguard.signals.files import hash_items as _hash_items
from safeguard.store import Database
from safeguard.store.models import Change

if TYPE_CHECKING:
    from safeguard.access.people import Actor
    from safeguard.act import EventService, FloodGuard
    from safeguard.act.combine import GroupCommit
    from safeguard.evidence import EvidenceStore
    from safeguard.exchange import FeedService, HoldOnly, SourceService, Syncer
    from safeguard.exchange.psi import AccountChecker, IdentifierLists
    from safeguard.refer.config import ReferralConfig
    from safeguard.refer.service import ReferralService
    from safeguard.review import CaseService
    from safeguard.rules import RuleSet

#: what hashing is for: a hash to show, a lookup (variants and local features too), an add
#: (local features too)
Purpose = Literal["hash", "match", "add"]
_PURPOSES: dict[str, dict[str, bool]] = {
    "hash": {"variants": False, "local": False},
    "match": {"variants": True, "local": True},
    "add": {"variants": False, "local": True},
}
#: a query: raw {signal type: value} (validated), or a hashed file (its `query()`)
Query = Mapping[str, str] | FileSignals


@dataclass(frozen=True)
class ChangeRecord:
    """One row of the append-only change log: who changed what, when."""

    id: int
    at: datetime
    actor: str
    action: str
    bank_name: str | None
    content_id: int | None
    detail: dict[str, object]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "bank_name": self.bank_name,
            "content_id": self.content_id,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Comparison:
    """How far apart two values of one signal type are, and whether that is a match at the
    type's default threshold."""

    signal_type: str
    distance: int
    matched: bool


def signal_types(*, listable: bool | None = None) -> dict[str, type[SignalType]]:
    """Every registered signal type by name (`listable=True`: those whose values go in hash
    lists and query parameters), for the faces to build their parameters from."""
    return _registry(listable=listable)


def hash_items(
    items: list[str | FileSignals],
    settings: Settings,
    *,
    workers: int | None = None,
    purpose: Purpose = "hash",
    quality_floor: int | None = None,
) -> Iterator[FileSignals]:
    """Hash the output of `iter_input_files` on a process pool, in input order, as `purpose`
    needs (see `Safeguard.hash_for`), with no store opened; `quality_floor` overrides the
    settings' (below it a perceptual hash is marked low quality)."""
    if quality_floor is not None:
        settings = settings.with_(pdq_quality_floor=quality_floor)
    return _hash_items(items, settings, workers=workers, **_PURPOSES[purpose])


def redacted_url(url: str) -> str:
    """A database URL with its password hidden, for showing."""
    return make_url(url).render_as_string(hide_password=True)


def parse_thresholds(given: Iterable[str]) -> dict[str, int]:
    """{type: threshold} from `TYPE=N` texts (as the CLI's repeatable `--threshold` takes
    them); a bare `N` sets the one non-exact listable type, or, of several, the one for
    photos (PDQ, as the first releases took a bare number), where there is exactly one."""
    out: dict[str, int] = {}
    for text in given:
        name, sep, number = str(text).partition("=")
        if not sep:
            name, number = "", name
        try:
            value = int(number.strip())
        except ValueError:
            raise InvalidRequest(f"threshold {text!r}: expected TYPE=N or N") from None
        if name:
            st = get_signal_type(name)
        else:
            fuzzy = [t for t in signal_types(listable=True).values() if not t.exact]
            if len(fuzzy) > 1:
                fuzzy = [t for t in fuzzy if "photo" in t.content_types] or fuzzy
            if len(fuzzy) != 1:
                names = ", ".join(t.name for t in fuzzy)
                raise InvalidRequest(f"threshold {text!r}: say which type (TYPE=N; one of {names})")
            st = fuzzy[0]
        out[st.name] = value
    return out


class Safeguard:
    """A handle on one safeguard store: banks, hashing and matching."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        on_change: Callable[[], None] | None = None,
        *,
        source: str = "library",
    ) -> None:
        self.settings = settings
        self.db = db
        #: which face asks (library, cli, http): recorded with every match
        self.source = source
        #: writes a `match.recorded` event for every match, off the lookup path (events/)
        self.recorder = MatchRecorder(db, enabled=settings.record_matches)
        #: called after every committed change made through `banks_for` (a server applies
        #: it to its own index before it answers)
        self.on_change = on_change
        self.banks = BankService(db, settings.actor, on_change=self._changed)
        self.matcher = Matcher(db)
        self._floods: FloodGuard | None = None
        self._rules: tuple[float, RuleSet | None] = (0.0, None)
        self._event_batches: GroupCommit | None = None
        self._hold_only: HoldOnly | None = None
        self._lazy = threading.Lock()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # -- act and review (docs/moderation.md) ------------------------------------------------

    def events_for(self, actor: Actor) -> EventService:
        """Judging events (uploads, reports, pathways flags) as `actor` submits them."""
        from safeguard.act import EventService

        return EventService(self, actor)

    def cases_for(self, actor: Actor) -> CaseService:
        """Cases as `actor` may see and decide them; bank feedback goes through this
        engine's banks (so a server's index sees it before it answers)."""
        from safeguard.evidence import SYSTEM
        from safeguard.review import CaseService

        s = self.settings
        return CaseService(
            self.db,
            actor,
            banks=self.banks_for(actor.name),
            claim_timeout=timedelta(seconds=s.claim_timeout),
            negative_bank=s.negative_bank,
            evidence=self.evidence_for(SYSTEM),
        )

    def evidence_for(self, actor: Actor) -> EvidenceStore:
        """Preserved media (encrypted, with its retention clock) as `actor` may use it."""
        from safeguard.evidence import EvidenceStore

        return EvidenceStore(self.db, self.settings, actor)

    def referrals_for(self, actor: Actor, config: ReferralConfig | None = None) -> ReferralService:
        """Referrals to NCMEC and the NCA as `actor` may make them (docs/referrals.md);
        `config` (who reports, the CyberTipline credentials) from the environment when not
        given."""
        from safeguard.refer.config import ReferralConfig
        from safeguard.refer.service import ReferralService

        return ReferralService(
            self.db, actor, config or ReferralConfig.from_env(), self.evidence_for(actor)
        )

    # -- exchange between platforms (docs/exchange.md) ------------------------------------

    def feeds_for(self, actor: Actor) -> FeedService:
        """This instance's banks published to peers, as `actor` may manage or read them."""
        from safeguard.exchange import FeedService

        return FeedService(self.db, actor, self.settings)

    def sources_for(self, actor: Actor) -> SourceService:
        """Peers' feeds this instance follows, as `actor` may manage them."""
        from safeguard.exchange import SourceService

        return SourceService(self.db, actor, self.settings)

    def syncer_for(self, actor: Actor) -> Syncer:
        """Reading peers' feeds into their banks, as `actor` (an admin)."""
        from safeguard.exchange import Syncer

        return Syncer(self.db, actor, self.settings)

    def identifier_lists_for(self, actor: Actor) -> IdentifierLists:
        """Lists of account identifiers peers may check privately, and answering them."""
        from safeguard.exchange.psi import IdentifierLists

        return IdentifierLists(self.db, actor)

    def account_checker_for(self, actor: Actor) -> AccountChecker:
        """Checking accounts against a peer's list privately (hits open cases)."""
        from safeguard.exchange.psi import AccountChecker

        return AccountChecker(self.db, actor, self.settings)

    @property
    def hold_only(self) -> HoldOnly:
        """The banks whose matches may hold but not block (peers trusted that far)."""
        if self._hold_only is None:
            from safeguard.exchange import HoldOnly

            with self._lazy:
                if self._hold_only is None:
                    self._hold_only = HoldOnly(self.db)
        return self._hold_only

    def active_rules(self, max_age: float = 1.0) -> RuleSet:
        """The active rule set, read from the store at most once a `max_age` seconds (every
        event needs it; a newly applied set is in force everywhere within that time)."""
        from safeguard.access.people import Actor
        from safeguard.rules import RuleStore

        at, rules = self._rules
        if rules is None or time.monotonic() - at >= max_age:
            rules = RuleStore(self.db, Actor.service("system:events")).active()
            self._rules = (time.monotonic(), rules)
        return rules

    @property
    def event_batches(self) -> GroupCommit:
        """Events submitted on different threads at once are judged and written together
        (act/combine.py)."""
        if self._event_batches is None:
            from safeguard.act.combine import GroupCommit

            with self._lazy:
                if self._event_batches is None:
                    batches: GroupCommit = GroupCommit()
                    batches.helper_gate = self.db.writers_turn
                    self._event_batches = batches
        return self._event_batches

    @property
    def floods(self) -> FloodGuard:
        """Flood quarantine of bank entries (act/quarantine.py)."""
        if self._floods is None:
            from safeguard.act import FloodGuard

            self._floods = FloodGuard(self.db, self.settings)
        return self._floods

    def banks_for(self, actor: str | None = None) -> BankService:
        """Bank operations recorded as `actor` (default: the settings' actor)."""
        if actor is None or actor == self.settings.actor:
            return self.banks
        return BankService(self.db, actor, on_change=self._changed)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        database_url: str | None = None,
        home: str | os.PathLike[str] | None = None,
        actor: str | None = None,
        source: str = "library",
    ) -> Safeguard:
        """Open (and if needed create and migrate) a store: the one `settings` names, or
        else the environment's, with `database_url`, `home` and `actor` overriding it.
        `source` names the face that asks (recorded with every match)."""
        if settings is None:
            settings = Settings.from_env(home=home, database_url=database_url, actor=actor)
        elif (home, database_url, actor) != (None, None, None):
            raise TypeError("give either settings or home/database_url/actor, not both")
        return cls(settings, Database.open(settings.database_url), source=source)

    def close(self) -> None:
        """Write the match records still queued, then close the store."""
        self.recorder.close()
        self.db.close()

    def __enter__(self) -> Safeguard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hashing ---------------------------------------------------------------------------

    def hash_file(
        self, path: str | os.PathLike[str], *, variants: bool = False, local: bool = False
    ) -> FileSignals:
        """Signals of a file; with `variants`, also the PDQ of its rotations, flips and
        inner picture, as lookups use them (signals/variants.py); with `local`, its local
        features, as adds keep them and lookups use them (signals/local.py)."""
        s = self.settings
        return hash_file(
            path,
            quality_floor=s.pdq_quality_floor,
            max_pixels=s.max_image_pixels,
            max_image_bytes=s.max_image_bytes,
            variants=variants,
            local=local,
            decode=s.decode,
        )

    def hash_bytes(
        self, data: bytes, name: str = "<bytes>", *, variants: bool = False, local: bool = False
    ) -> FileSignals:
        s = self.settings
        return hash_bytes(
            data,
            name,
            quality_floor=s.pdq_quality_floor,
            max_pixels=s.max_image_pixels,
            variants=variants,
            local=local,
            decode=s.decode,
        )

    def hash_for(self, data: bytes, name: str, purpose: Purpose = "hash") -> FileSignals:
        """Signals of in-memory content as `purpose` needs them: "hash" (to show), "match"
        (with the variants and local features lookups use), "add" (with local features)."""
        return self.hash_bytes(data, name, **_PURPOSES[purpose])

    def hash_upload(
        self, fh: BinaryIO, name: str, limit: int, purpose: Purpose = "hash"
    ) -> FileSignals:
        """Signals of an upload in an open binary file (spooled to disk by the web server):
        a video is hashed from the file (digests and vPDQ, never whole in memory); anything
        else is read, at most `limit` bytes (FileProblem `too_large` past it), and hashed
        as in-memory content for `purpose`."""
        from safeguard.signals.files import hash_video_file, video_kinds

        fh.seek(0)
        head = fh.read(512)
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size > limit:
            raise FileProblem(f"upload is over the limit of {limit:,} bytes", "too_large")
        if video_kinds(head):
            return hash_video_file(
                fh, name, variants=_PURPOSES[purpose]["variants"], decode=self.settings.decode
            )
        fh.seek(0)
        return self.hash_for(fh.read(limit + 1), name, purpose)

    def hash_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        workers: int | None = None,
        local: bool = False,
        purpose: Purpose | None = None,
    ) -> Iterator[FileSignals]:
        """Hash every file under `paths` (directories walked), in input order, with local
        features where `local`, or as `purpose` needs (see `hash_for`)."""
        if purpose is not None:
            return self.hash_items(list(iter_input_files(paths)), workers=workers, purpose=purpose)
        return hash_paths(paths, self.settings, workers=workers, local=local)

    def hash_items(
        self,
        items: list[str | FileSignals],
        *,
        workers: int | None = None,
        purpose: Purpose = "hash",
    ) -> Iterator[FileSignals]:
        """Hash the output of `iter_input_files`, in input order, as `purpose` needs."""
        return hash_items(items, self.settings, workers=workers, purpose=purpose)

    # -- banking ---------------------------------------------------------------------------

    def add_file(
        self, bank: str, path: str | os.PathLike[str], provenance: Provenance = Provenance()
    ) -> tuple[FileSignals, AddResult]:
        """Hash a file and add it to `bank`. Raises FileProblem if it has no usable signal."""
        signals = self.hash_file(path, local=True)
        return signals, self.add_hashed(bank, signals, provenance)

    def add_hashed(
        self,
        bank: str,
        signals: FileSignals,
        provenance: Provenance = Provenance(),
        *,
        signal_types: Collection[str] | None = None,
        actor: str | None = None,
    ) -> AddResult:
        """Add a hashed file's signals to `bank` with their qualities and the values that
        are not listable (local features). A file that is not an image adds its digests
        only; one with no signal raises FileProblem. `signal_types` keeps only those types
        (and values computed with them: local features go with a photo's types); `actor`
        records who added it (default: the settings' actor)."""
        found = signals.signals()
        if signal_types is not None:
            found = {t: v for t, v in found.items() if t in signal_types}
        if not found:
            raise FileProblem(
                signals.error or "no signal could be computed", signals.error_code or "unreadable"
            )
        listable = _registry(listable=True)
        unlisted = {
            t: v for t, v in signals.values.items() if t not in listable and _applies_with(t, found)
        }
        quality = {t: q for t, q in signals.quality.items() if t in found}
        return self.banks_for(actor).add(
            bank, found, provenance, quality=quality, local=unlisted.get(LocalSignal.name)
        )

    def add_signals_of(
        self, bank: str, signals: FileSignals, provenance: Provenance = Provenance()
    ) -> AddResult:
        """The name of the first releases for `add_hashed`."""
        return self.add_hashed(bank, signals, provenance)

    def create_bank(
        self,
        name: str,
        *,
        thresholds: Mapping[str, int] | None = None,
        actor: str | None = None,
        **options: object,
    ) -> BankInfo:
        """Create a bank; `thresholds` ({type: distance}) for its non-exact types, the rest
        as `BankService.create` takes them; `actor`: who (default: the settings' actor)."""
        return self.banks_for(actor).create(name, thresholds=thresholds, **options)  # type: ignore[arg-type]

    def update_bank(
        self,
        name: str,
        *,
        thresholds: Mapping[str, int] | None = None,
        actor: str | None = None,
        **options: object,
    ) -> BankInfo:
        """Change a bank's settings in one transaction (`thresholds` as in `create_bank`)."""
        return self.banks_for(actor).update(name, thresholds=thresholds, **options)  # type: ignore[arg-type]

    def changes(self, after: int = 0, limit: int = 100) -> list[ChangeRecord]:
        """The change log (the audit trail) after id `after`, oldest first, at most `limit`."""
        with self.db.transaction() as s:
            rows = s.scalars(
                select(Change).where(Change.id > after).order_by(Change.id).limit(limit)
            ).all()
            return [
                ChangeRecord(
                    c.id, c.at, c.actor, c.action, c.bank_name, c.content_id, dict(c.detail or {})
                )
                for c in rows
            ]

    def import_list(
        self,
        bank: str,
        path: str | os.PathLike[str],
        fmt: str | None = None,
        *,
        signal_type: str | None = None,
        source: str = "",
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Validate a whole hash list, then add it in one transaction (all or nothing).

        `on_progress(done, total)` is called as new items are written.
        """
        self.banks.get(bank)  # fail on an unknown bank before reading a large file
        records = read_hash_list(path, fmt, signal_type=signal_type)
        if not records:
            raise EmptyHashList(str(path))
        return self.banks.import_records(
            bank, records, source=source or Path(path).name, on_progress=on_progress
        )

    def export_list(self, bank: str, out: IO[str], fmt: str = "jsonl") -> int:
        return write_hash_list(self.banks.iter_content(bank), out, fmt)

    # -- matching --------------------------------------------------------------------------

    @staticmethod
    def signal_types(*, listable: bool | None = None) -> dict[str, type[SignalType]]:
        """Every registered signal type by name (see the module function)."""
        return signal_types(listable=listable)

    @staticmethod
    def check_signals(signals: Mapping[str, str]) -> dict[str, str]:
        """Canonical {type name: value} of raw signals, or InvalidSignal naming the problem."""
        return validate_signals(dict(signals))

    def compare(self, signal_type: str, a: str, b: str) -> Comparison:
        """The distance between two values of a type, and whether they match at its default
        threshold. InvalidSignal for an unknown type or a malformed value."""
        st = get_signal_type(signal_type)
        if not st.listable:
            raise InvalidSignal(f"{st.name} values cannot be compared here")
        d = st.distance(st.validate(a), st.validate(b))
        return Comparison(st.name, d, d <= st.default_threshold)

    @property
    def ready(self) -> bool:
        """True once the match index is loaded."""
        return self.matcher.ready

    def index_status(self) -> IndexStatus:
        """What the match index holds and how current it is (never waits on a refresh)."""
        return self.matcher.status()

    def match(
        self,
        query: Query,
        *,
        banks: Collection[str] | None = None,
        coinflip: float | None = None,
        include_disabled: bool = False,
        actor: str | None = None,
    ) -> MatchResult:
        """Match raw signals ({"pdq": "...", "md5": "..."}: validated) or a hashed file (its
        signals, variants and local features) against every enabled bank: only `banks`
        where given; with `coinflip` (0-1) only banks whose match ratio is at least that;
        switched-off content too with `include_disabled`. `actor` is who asked."""
        return self.match_many(
            [query], banks=banks, coinflip=coinflip, include_disabled=include_disabled, actor=actor
        )[0]

    def match_url(
        self, url: str, *, banks: Collection[str] | None = None, actor: str | None = None
    ) -> tuple[str, MatchResult]:
        """The canonical form of a web address and its matches in URL lists (exact, or
        under a listed pattern: signals/url.py); InvalidSignal when it is not a usable
        http(s) address."""
        from safeguard.signals.url import UrlSignal

        canonical = UrlSignal.validate(url)
        return canonical, self.match({UrlSignal.name: canonical}, banks=banks, actor=actor)

    def match_many(
        self,
        queries: Sequence[Query],
        *,
        banks: Collection[str] | None = None,
        coinflip: float | None = None,
        include_disabled: bool = False,
        actor: str | None = None,
    ) -> list[MatchResult]:
        """`match` for many queries in one pass over the indexes."""
        clean = [_query_of(q) for q in queries]
        results = self.matcher.lookup_many(
            clean, banks, coinflip=coinflip, include_disabled=include_disabled
        )
        self.record_lookups(clean, results, actor)
        return results

    def match_cached(
        self,
        signals: dict[str, str],
        *,
        banks: Collection[str] | None = None,
        actor: str | None = None,
    ) -> MatchResult | None:
        """`match` of canonical signals (from `check_signals`) when it needs no database
        read, else None: CPU only, so an event loop may call it inline."""
        found = self.match_cached_many([signals], banks=banks, actor=actor)
        return None if found is None else found[0]

    def match_cached_many(
        self,
        queries: Sequence[dict[str, str]],
        *,
        banks: Collection[str] | None = None,
        actor: str | None = None,
        record: bool = True,
    ) -> list[MatchResult] | None:
        """`match_cached` of many queries: all their results, or None (and nothing
        recorded) when any of them needs a database read. With `record=False` the caller
        records them (`record_lookups`) if it uses them."""
        results = []
        for signals in queries:
            result = self.matcher.lookup_cached(signals, banks)
            if result is None:
                return None
            results.append(result)
        if record:
            self.record_lookups(queries, results, actor)
        return results

    def match_by_type(
        self,
        query: Query,
        signal_types: Iterable[str],
        *,
        banks: Collection[str] | None = None,
        coinflip: float | None = None,
        include_disabled: bool = False,
        actor: str | None = None,
    ) -> dict[str, MatchResult]:
        """One lookup per signal type of the query (with that type's variants): each
        type's matches, negative banks applied within the type (as HMA answers)."""
        whole = _query_of(query)
        parts = {
            t: {k: v for k, v in whole.items() if k.partition(":")[0] == t} for t in signal_types
        }
        parts = {t: q for t, q in parts.items() if q}
        results = self.matcher.lookup_many(
            list(parts.values()), banks, coinflip=coinflip, include_disabled=include_disabled
        )
        self.record_lookups(list(parts.values()), results, actor)
        return dict(zip(parts, results, strict=True))

    def record_lookups(
        self,
        queries: Sequence[Mapping[str, str]],
        results: Sequence[MatchResult],
        actor: str | None,
    ) -> None:
        """Every lookup of the library, the CLI and the HTTP API ends here, with who asked
        (`actor`, default the settings'): each match becomes a `match.recorded` event
        (queued: written in batches by a background thread, never slowing the lookup)."""
        del queries
        self.recorder.record(results, actor or self.settings.actor, source=self.source)

    def match_signals(self, signals: dict[str, str]) -> MatchResult:
        """Match raw signal values ({"pdq": "...", "md5": "..."}); values are validated."""
        return self.match(signals)

    def match_records(
        self, records: list[HashRecord], *, actor: str | None = None
    ) -> list[MatchResult]:
        return self.match_many([r.signals for r in records], actor=actor)

    def match_file(self, path: str | os.PathLike[str]) -> MatchResult:
        return self.match(self.hash_file(path, variants=True, local=True))

    def match_bytes(self, data: bytes, name: str = "<bytes>") -> MatchResult:
        return self.match(self.hash_for(data, name, "match"))

    def match_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        workers: int | None = None,
    ) -> Iterator[tuple[FileSignals, MatchResult]]:
        """Hash and match every file under `paths` (directories walked), in input order."""
        return self.match_items(list(iter_input_files(paths)), workers=workers)

    def match_items(
        self,
        items: list[str | FileSignals],
        *,
        workers: int | None = None,
        batch: int = 256,
        actor: str | None = None,
    ) -> Iterator[tuple[FileSignals, MatchResult]]:
        """Hash and match the output of `iter_input_files`, batching index lookups."""
        pending: list[FileSignals] = []
        for fs in self.hash_items(items, workers=workers, purpose="match"):
            pending.append(fs)
            if len(pending) >= batch:
                yield from self._match_batch(pending, actor)
                pending = []
        if pending:
            yield from self._match_batch(pending, actor)

    def _match_batch(
        self, items: list[FileSignals], actor: str | None
    ) -> Iterator[tuple[FileSignals, MatchResult]]:
        results = self.match_many(items, actor=actor)
        yield from zip(items, results, strict=True)


def _query_of(query: Query) -> dict[str, str]:
    """What the matcher looks up for a query: a file's `query()`, or validated signals."""
    if isinstance(query, FileSignals):
        return query.query()
    return validate_signals(dict(query))


def _applies_with(unlisted: str, found: Mapping[str, str]) -> bool:
    """Whether a value that is not listable (local features) is kept with these signals: when
    one of them is computed from the same content type."""
    mine = set(get_signal_type(unlisted).content_types)
    return any(mine & set(get_signal_type(t).content_types) for t in found if t != unlisted)
