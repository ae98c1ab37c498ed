"""Events in, verdicts out: the inline half of the act-and-review loop (docs/moderation.md).

For a batch of events `EventService.submit_many`:
1. hashes the uploads (a path, or bytes the HTTP face fetched or received) or validates
   their precomputed hashes, and matches them all in one pass over the indexes;
2. evaluates the active rule set on each event's facts (matches, the pathways score and
   reasons, recent reports on the account, its age band, the watch list);
3. writes, in ONE transaction per event that needs keeping: the event and its verdict, the
   rules that fired (live and shadow), the case it opened or joined with what it adds, the
   watch-list entry, and the webhook messages (the outbox), so a crash between "decided"
   and "told the platform" loses nothing;
4. checks the bank entries it matched for floods (act/quarantine.py).

An event that needs nothing kept (an upload that matched nothing and fired no rule) writes
nothing. A bad event gets its own error; the others are judged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from safeguard.access.people import Actor
from safeguard.act.inputs import EventInput
from safeguard.act.verdicts import Verdict, failed
from safeguard.errors import FileProblem, InvalidRequest, SafeguardError
from safeguard.matching import Match
from safeguard.outbox import enqueue
from safeguard.review import CaseWant, case_item_rows, cases_for_events, insert_case_items
from safeguard.rules import (
    Evaluation,
    EventFacts,
    MatchFact,
    RuleSet,
    RuleStore,
    hit_rows,
    insert_hits,
)
from safeguard.signals import validate_signals
from safeguard.signals.files import FileSignals
from safeguard.store import WriteBusy
from safeguard.store.driver import DriverStatement
from safeguard.store.models import utcnow
from safeguard.store.review_tables import Event, WatchlistEntry

if TYPE_CHECKING:
    from safeguard.engine import Safeguard

log = logging.getLogger("safeguard.act")
_NEW_EVENT = DriverStatement(insert(Event).returning(Event.id))  # store/driver.py: why

#: what an upload is matched by: its hashed file, or its validated precomputed hashes
_Query = FileSignals | Mapping[str, str]


@dataclass
class _Pending:
    """One event on its way through a batch."""

    event: EventInput
    query: _Query | None = None
    signals: dict[str, str] | None = None  # the media's listable signals (kept, never media)


@dataclass
class _Judged:
    """An event of a batch with its matches, the rules' evaluation and its verdict."""

    i: int  # its position in the batch
    pending: _Pending
    found: list[Match]
    evaluation: Evaluation
    verdict: str


@dataclass
class Judgement:
    """Events judged without the database (`EventService.judge_inline`): the verdicts of
    those that need nothing kept (None where an event is in `judged`, still to be
    written by `EventService.finish_async`), and the rule set they were judged by."""

    verdicts: list[Verdict | None]
    judged: list[_Judged]
    ruleset: RuleSet

    def complete(self, written: Sequence[Verdict]) -> list[Verdict]:
        """The verdicts in order, with those of `judged` from `written`."""
        out = list(self.verdicts)
        for j, verdict in zip(self.judged, written, strict=True):
            out[j.i] = verdict
        return [v for v in out if v is not None]


#: an event of a batch (or the error it already is) with the media the HTTP face sent
_Item = tuple[EventInput | SafeguardError, bytes | None]


class EventService:
    """Judges events for one caller (`actor`: who submitted them)."""

    def __init__(self, sg: Safeguard, actor: Actor, *, rules: RuleStore | None = None) -> None:
        actor.require(actor.may_submit_events(), "submit events")
        self.sg = sg
        self.db = sg.db
        self.actor = actor
        self.rules = rules or RuleStore(sg.db, actor)
        self.floods = sg.floods

    def judge_inline(self, events: Sequence[EventInput]) -> Judgement | None:
        """Judge uploads by hashes without reading the database (CPU only, so an event
        loop may call it): the verdicts of those that need nothing kept (most uploads),
        and the judgements still to be written (`finish_async`) of those that matched or fired
        a rule. None when any event needs a database read first (then `submit_many`): a
        report, a file, a platform event id, a match or a flood pause not in the caches,
        or a rule that counts reports or reads the watch list."""
        ruleset = self.sg.active_rules()
        queries = _inline_queries(events, ruleset)
        if queries is None:
            return None
        # recorded only once judged here: else `submit_many` matches (and records) them
        results = self.sg.match_cached_many(queries, record=False)
        if results is None:
            return None
        quarantined = self.floods.paused_cached() if any(r.matches for r in results) else set()
        if quarantined is None:
            return None
        verdicts: list[Verdict | None] = []
        judged: list[_Judged] = []
        for i, (e, query, result) in enumerate(zip(events, queries, results, strict=True)):
            found = list(result.matches)
            facts = replace(self._facts(e, found, quarantined, set()), reports_within=_needs_store)
            try:
                evaluation = ruleset.evaluate(facts)
                verdict = _limit_blocks(ruleset, facts, evaluation)
            except _NeedsStore:
                return None
            if found or evaluation.live or evaluation.shadow:
                judged.append(_Judged(i, _Pending(e, query, query), found, evaluation, verdict))
                verdicts.append(None)
            else:
                verdicts.append(Verdict(e.account_id, e.kind, verdict))
        self.sg.record_lookups(queries, results, self.actor.name)
        return Judgement(verdicts, judged, ruleset)

    def warm_inline(self, events: Sequence[EventInput]) -> bool:
        """Read into the caches what `judge_inline` needs for these events and found missing
        (the bank entries they match, the flood pause list), for a caller that then judges
        them inline after all, its write joining the others' (a thread's database read, not
        the whole of `submit_many` in a transaction of its own). False when they are not
        events `judge_inline` judges."""
        queries = _inline_queries(events, self.sg.active_rules())
        if queries is None:
            return False
        self.sg.matcher.lookup_many(queries, None)
        self.floods.paused()
        return True

    async def finish_async(self, judgement: Judgement) -> list[Verdict]:
        """The verdicts of a `judge_inline`, after writing what it found as `submit_many`
        would have (one transaction, shared with concurrent callers), on a thread: never
        on the event loop."""
        if not judgement.judged:
            return judgement.complete([])
        key = (self.actor, "judged", judgement.ruleset.version)
        ruleset = judgement.ruleset

        def now_or_never(judged: list[_Judged]) -> list[Verdict] | None:
            try:
                return self._keep(judged, ruleset, utcnow(), wait=False)
            except WriteBusy:
                return None

        written = await self.sg.event_batches.run_async(
            key,
            judgement.judged,
            lambda judged: self._keep(judged, ruleset, utcnow()),
            # on SQLite the loop writes when the lock is free (act/combine.py: why)
            here=now_or_never if self.db.local_writes else None,
        )
        return judgement.complete(written)

    def submit(self, event: EventInput, *, media: bytes | None = None) -> Verdict:
        return self.submit_many([event], media={0: media} if media is not None else None)[0]

    def submit_many(
        self,
        events: Sequence[EventInput | SafeguardError],
        *,
        media: dict[int, bytes] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> list[Verdict]:
        """Verdicts for `events` in order. An item that is already an error (an event that
        did not parse) is answered with it; `media` gives the bytes of uploads by position
        (what the HTTP face received or fetched).

        Calls on other threads of this engine that arrive while a batch is being written
        are judged together in the next one (act/combine.py: group commit)."""
        items = [(e, (media or {}).get(n)) for n, e in enumerate(events)]
        return self.sg.event_batches.run((self.actor, now), items, lambda b: self._judge(b, now))

    def _judge(self, items: list[_Item], now: Callable[[], datetime]) -> list[Verdict]:
        events = [e for e, _ in items]
        media = {n: data for n, (_, data) in enumerate(items) if data is not None}
        pending = [_Pending(e) if isinstance(e, EventInput) else None for e in events]
        out: list[Verdict | None] = [
            failed(None, None, None, e.message, e.code) if isinstance(e, SafeguardError) else None
            for e in events
        ]
        live = [(i, p) for i, p in enumerate(pending) if p is not None]
        self._answer_repeats(live, out)
        live = [(i, p) for i, p in live if out[i] is None]
        self._prepare(live, out, media)
        todo = [(i, p) for i, p in live if out[i] is None]
        queries = [(i, p.query) for i, p in todo if p.query is not None]
        results = (
            self.sg.match_many([q for _, q in queries], actor=self.actor.name) if queries else []
        )
        matches = {i: r.matches for (i, _), r in zip(queries, results, strict=True)}
        ruleset = self.sg.active_rules()
        quarantined = self.floods.paused()
        watched = (
            self._watched({p.event.account_id for _, p in todo})
            if ruleset.uses_watchlist
            else set()
        )
        reports: dict[str, int] = {}  # reports earlier in this batch, by account
        judged: list[_Judged] = []
        for i, p in todo:
            found = matches.get(i, [])
            facts = self._facts(p.event, found, quarantined, watched, reports)
            evaluation = ruleset.evaluate(facts)
            judged.append(
                _Judged(i, p, found, evaluation, _limit_blocks(ruleset, facts, evaluation))
            )
            if p.event.kind == "report":
                reports[p.event.account_id] = reports.get(p.event.account_id, 0) + 1
            if evaluation.watchlist:
                watched.add(p.event.account_id)
        for j, verdict in zip(judged, self._keep(judged, ruleset, now()), strict=True):
            out[j.i] = self._preserve(j.pending, verdict, media, j.i) if verdict.ok else verdict
        return [v for v in out if v is not None]

    # -- steps -----------------------------------------------------------------------------

    def _answer_repeats(self, live: list[tuple[int, _Pending]], out: list[Verdict | None]) -> None:
        """Events whose platform id was seen before get their first verdict back."""
        ids = {p.event.external_id: i for i, p in live if p.event.external_id}
        if not ids:
            return
        with self.db.transaction() as s:
            rows = s.scalars(select(Event).where(Event.external_id.in_(list(ids)))).all()
            for row in rows:
                i = ids[row.external_id]  # type: ignore[index]
                out[i] = _stored_verdict(row, repeated=True)

    def _prepare(
        self, live: list[tuple[int, _Pending]], out: list[Verdict | None], media: dict[int, bytes]
    ) -> None:
        """Hash or validate each upload; a problem fails that event only."""
        paths = [
            (i, p) for i, p in live if p.event.kind == "upload" and p.event.path and i not in media
        ]
        hashed = iter(
            self.sg.hash_items([str(p.event.path) for _, p in paths], purpose="match")
            if len(paths) > 4
            else (self.sg.hash_file(str(p.event.path), variants=True, local=True) for _, p in paths)
        )
        by_path = {i: next(hashed) for i, _ in paths}
        for i, p in live:
            e = p.event
            if e.kind != "upload":
                continue
            try:
                if e.hashes and i not in media:
                    p.signals = validate_signals(e.hashes)
                    p.query = p.signals
                    continue
                if i in media:
                    fs = self.sg.hash_for(media[i], e.media_ref or "upload", "match")
                elif i in by_path:
                    fs = by_path[i]
                else:
                    raise InvalidRequest(
                        "upload event with a URL: submit it through the HTTP API "
                        "(POST /v1/events fetches URLs), or give its path or hashes"
                    )
                if not fs.ok:
                    raise FileProblem(
                        f"{e.path or 'upload'}: {fs.error}", fs.error_code or "unreadable"
                    )
                p.signals = fs.signals()
                p.query = fs
            except SafeguardError as err:
                out[i] = failed(e.account_id, e.kind, e.external_id, err.message, err.code)

    def _preserve(self, p: _Pending, verdict: Verdict, media: dict[int, bytes], i: int) -> Verdict:
        """With SAFEGUARD_PRESERVE_MEDIA, keep the media of an upload that opened or joined
        a case as encrypted evidence (its clock starts with the decision or a report). The
        verdict stands whatever happens here; a failure is named in its `notes` and logged."""
        e = p.event
        if not self.sg.settings.preserve_media or verdict.case_id is None or e.kind != "upload":
            return verdict
        from safeguard.evidence import SYSTEM

        try:
            data = media[i] if i in media else Path(e.path).read_bytes() if e.path else None
            if data is None:
                return verdict  # hashes only: there is no media to keep
            name = e.media_ref or e.path or "upload"
            kept = self.sg.evidence_for(SYSTEM).preserve(verdict.case_id, data, name)
            return replace(verdict, notes=(f"media kept as evidence {kept.id}",))
        except (OSError, SafeguardError) as err:
            why = err.message if isinstance(err, SafeguardError) else str(err.strerror)
            log.error("case %s: media not kept as evidence: %s", verdict.case_id, why)
            return replace(verdict, notes=(f"media NOT kept as evidence: {why}",))

    def _watched(self, accounts: set[str]) -> set[str]:
        if not accounts:
            return set()
        with self.db.transaction() as s:
            return set(
                s.scalars(
                    select(WatchlistEntry.account_id).where(
                        WatchlistEntry.account_id.in_(list(accounts))
                    )
                )
            )

    def _facts(
        self,
        e: EventInput,
        found: list[Match],
        quarantined: set[int],
        watched: set[str],
        reports: Mapping[str, int] | None = None,
    ) -> EventFacts:
        earlier = (reports or {}).get(e.account_id, 0)
        held = self.sg.hold_only.banks() if found else frozenset()
        return EventFacts(
            kind=e.kind,
            account_id=e.account_id,
            matches=tuple(
                MatchFact(
                    m.bank,
                    m.content_id,
                    m.signal_type,
                    m.distance,
                    m.content_id in quarantined,
                    hold_only=m.bank in held,
                )
                for m in found
            ),
            pathways_score=e.score,
            pathways_reasons=e.reasons,
            report_reason=e.reason,
            account_age_band=e.account_age_band,
            watchlisted=e.account_id in watched,
            reports_within=lambda seconds: self._reports_within(e, seconds) + earlier,
        )

    def _reports_within(self, e: EventInput, seconds: float) -> int:
        since = utcnow() - timedelta(seconds=seconds)
        with self.db.transaction() as s:
            stored = s.scalar(
                select(func.count())
                .select_from(Event)
                .where(
                    Event.account_id == e.account_id,
                    Event.kind == "report",
                    Event.received_at >= since,
                )
            )
        return int(stored or 0) + (1 if e.kind == "report" else 0)

    def _keep(
        self, judged: list[_Judged], ruleset: RuleSet, at: datetime, *, wait: bool = True
    ) -> list[Verdict]:
        """Write what the judged events need kept (`_record`), each one's verdict or its
        error as a failed verdict, in order; then count the entries they matched for
        floods. With `wait=False` it raises `WriteBusy`, having written nothing, where the
        write would wait for another writer (and a flood pause that would is left to a
        later batch)."""
        out = []
        for j, verdict in zip(judged, self._record(judged, ruleset, at, wait), strict=True):
            if isinstance(verdict, SafeguardError):
                e = j.pending.event
                verdict = failed(e.account_id, e.kind, e.external_id, verdict.message, verdict.code)
            out.append(verdict)
        touched = [cid for j in judged for cid in {m.content_id for m in j.found}]
        if touched:
            self.floods.check(touched, at, wait=wait)
        return out

    def _record(
        self, judged: list[_Judged], ruleset: RuleSet, at: datetime, wait: bool = True
    ) -> list[Verdict | SafeguardError]:
        """Write what the judged events need kept, all in one transaction; if that fails on
        a collision (a concurrent writer opened an account's case, or took an event id),
        each event again in its own (with `wait=False`: `WriteBusy`, the caller waits).
        In order, each event's verdict or its error."""
        out: list[Verdict | SafeguardError | None] = []
        kept: list[tuple[int, _Judged]] = []
        for n, j in enumerate(judged):
            e = j.pending.event
            if j.found or j.evaluation.live or j.evaluation.shadow or e.kind != "upload":
                kept.append((n, j))
                out.append(None)
            else:
                out.append(Verdict(e.account_id, e.kind, j.verdict, external_id=e.external_id))
        if not kept:
            return [v for v in out if v is not None]
        try:
            written: list[Verdict | SafeguardError] = list(
                self._write([j for _, j in kept], ruleset, at, wait)
            )
        except SafeguardError as e:
            if len(kept) == 1:
                written = [e]
            elif not wait:
                raise WriteBusy("events to write one by one") from None
            else:
                written = [self._write_alone(j, ruleset, at) for _, j in kept]
        except IntegrityError:
            if not wait:
                raise WriteBusy("events to write one by one") from None
            written = [self._write_alone(j, ruleset, at) for _, j in kept]
        for (n, _), v in zip(kept, written, strict=True):
            out[n] = v
        return [v for v in out if v is not None]

    def _write_alone(self, j: _Judged, ruleset: RuleSet, at: datetime) -> Verdict | SafeguardError:
        """One event in its own transaction, trying once more after a collision."""
        e = j.pending.event
        for attempt in range(2):
            try:
                return self._write([j], ruleset, at)[0]
            except SafeguardError as err:
                return err
            except IntegrityError:
                # a concurrent event opened this account's case, or the platform sent the
                # same event id twice at once: look again
                if attempt:
                    raise
                if e.external_id:
                    with self.db.transaction() as s:
                        again = s.scalar(select(Event).where(Event.external_id == e.external_id))
                        if again is not None:
                            return _stored_verdict(again, repeated=True)
        raise AssertionError("unreachable")

    def _write(
        self, judged: list[_Judged], ruleset: RuleSet, at: datetime, wait: bool = True
    ) -> list[Verdict]:
        """The events, their rule hits, cases, case items, watch-list entries and webhook
        messages, in one transaction (a handful of statements, whatever the batch size)."""
        with self.db.write_connection(wait=wait) as s:
            wants = [
                CaseWant(j.pending.event.account_id, j.evaluation, _opens_case(j.evaluation))
                for j in judged
            ]
            case_ids = cases_for_events(s, wants, at)
            matches = [[m.to_json() for m in j.found] for j in judged]
            rows = [
                {
                    "kind": j.pending.event.kind,
                    "account_id": j.pending.event.account_id,
                    "external_id": j.pending.event.external_id,
                    "received_at": at,
                    "submitted_by": self.actor.name,
                    "verdict": j.verdict,
                    "rules": [h.rule for h in j.evaluation.live],
                    "case_id": case_id,
                    "detail": {
                        "event": j.pending.event.to_json(),
                        "signals": j.pending.signals or {},
                        "matches": found,
                        "shadow_rules": [h.rule for h in j.evaluation.shadow],
                    },
                }
                for j, case_id, found in zip(judged, case_ids, matches, strict=True)
            ]
            event_ids = [event_id for (event_id,) in _NEW_EVENT.returning(s, rows)]
            hits: list[dict[str, object]] = []
            items: list[dict[str, object]] = []
            out = []
            for j, row, event_id, found in zip(judged, rows, event_ids, matches, strict=True):
                e, evaluation, case_id = j.pending.event, j.evaluation, row["case_id"]
                hits += hit_rows(event_id, e.account_id, ruleset, evaluation, at)
                if isinstance(case_id, int):
                    signals = j.pending.signals or {}
                    items += case_item_rows(case_id, event_id, e, j.found, signals, at)
                if evaluation.watchlist:
                    _watch(s, e.account_id, evaluation, self.actor.name, at)
                live = [h.rule for h in evaluation.live]
                if evaluation.webhook:
                    payload: dict[str, object] = {
                        "event_id": event_id,
                        "id": e.external_id,
                        "account_id": e.account_id,
                        "kind": e.kind,
                        "verdict": j.verdict,
                        "rules": live,
                        "case_id": case_id,
                    }
                    enqueue(s, "verdict", payload, f"verdict:{event_id}")
                out.append(
                    Verdict(
                        e.account_id,
                        e.kind,
                        j.verdict,
                        rules=tuple(live),
                        shadow_rules=tuple(h.rule for h in evaluation.shadow),
                        case_id=case_id if isinstance(case_id, int) else None,
                        event_id=event_id,
                        external_id=e.external_id,
                        matches=tuple(found),
                    )
                )
            insert_hits(s, hits)
            insert_case_items(s, items)
            return out


class _NeedsStore(Exception):
    """A rule asked for a fact only the database has (judge_inline gives up)."""


def _needs_store(seconds: float) -> int:
    raise _NeedsStore


def _inline_queries(events: Sequence[EventInput], ruleset: RuleSet) -> list[dict[str, str]] | None:
    """The validated hashes of uploads `judge_inline` may judge (by hashes, with no platform
    event id, whose repeat only the database knows, under rules that do not read the watch
    list), or None."""
    if ruleset.uses_watchlist:
        return None
    queries = []
    for e in events:
        if e.kind != "upload" or not e.hashes or e.external_id:
            return None
        try:
            queries.append(validate_signals(e.hashes))
        except SafeguardError:
            return None
    return queries


def _opens_case(evaluation: Evaluation) -> bool:
    return evaluation.case is not None or evaluation.review


def _limit_blocks(ruleset: RuleSet, facts: EventFacts, evaluation: Evaluation) -> str:
    """A block that stands only on matches that may not block becomes a hold: entries
    paused by flood quarantine, and banks filled by a peer trusted to hold only
    (docs/exchange.md)."""
    weak = [m.quarantined or m.hold_only for m in facts.matches]
    if evaluation.verdict != "block" or not any(weak):
        return evaluation.verdict
    strong = tuple(m for m, w in zip(facts.matches, weak, strict=True) if not w)
    return (
        "block" if ruleset.evaluate(replace(facts, matches=strong)).verdict == "block" else "hold"
    )


def _watch(s: Connection, account: str, evaluation: Evaluation, actor: str, at: datetime) -> None:
    listed = select(WatchlistEntry.account_id).where(WatchlistEntry.account_id == account)
    if s.scalar(listed) is None:
        reason = ",".join(h.rule for h in evaluation.live)[:200]
        s.execute(
            insert(WatchlistEntry).values(
                account_id=account, reason=reason, added_at=at, added_by=actor
            )
        )


def _stored_verdict(row: Event, *, repeated: bool = False) -> Verdict:
    detail = row.detail or {}
    return Verdict(
        row.account_id,
        row.kind,
        row.verdict,
        rules=tuple(row.rules or ()),
        shadow_rules=tuple(detail.get("shadow_rules") or ()),  # type: ignore[arg-type]
        case_id=row.case_id,
        event_id=row.id,
        external_id=row.external_id,
        matches=tuple(detail.get("matches") or ()),  # type: ignore[arg-type]
        repeated=repeated,
    )
