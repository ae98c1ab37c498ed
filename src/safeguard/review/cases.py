"""Cases: one active case per account gathers its matches, reports and pathways flags; a
person claims it, decides it, and the decision feeds back into banks.

States: open -> in_review (claimed by one reviewer) -> decided (confirmed or not_abuse) ->
referred -> closed; `escalate` sends a case back to the queue at top priority as a
child-safety case. Two decisions on one case: the first to commit wins; the other gets a
`Conflict` naming the winner. Who may see or decide a case is checked here (Actor), so the
CLI, the API and the web UI cannot differ, and every view of a child-safety case is audited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.banks import BankService, Provenance
from safeguard.errors import BankExists, CaseNotFound, Conflict, Forbidden, InvalidRequest
from safeguard.outbox import enqueue
from safeguard.review.queue import QueueFilter, QueuePage, queue_page
from safeguard.review.records import DECISIONS, CaseDetail, CaseInfo, CaseItemInfo, Decision
from safeguard.signals import get_signal_type
from safeguard.store import Database
from safeguard.store.driver import DriverStatement
from safeguard.store.models import Bank, utcnow
from safeguard.store.review_tables import (
    ACTIVE_CASE_STATES,
    ENTRY_ACCOUNT,
    Case,
    CaseItem,
    QuarantinedEntry,
    case_is_active,
)

if TYPE_CHECKING:
    from safeguard.act.inputs import EventInput
    from safeguard.evidence import EvidenceStore
    from safeguard.matching import Match
    from safeguard.rules import Evaluation

#: a claim older than this may be taken over by another reviewer
DEFAULT_CLAIM_TIMEOUT = timedelta(minutes=30)
#: "switched off for good"
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
#: the negative bank a `not_abuse` decision adds to when none is named
DEFAULT_NEGATIVE_BANK = "not-abuse"


#: the statements of the verdict path, built once (building them costs more than running them)
#: (on the driver itself: SQLAlchemy's work per statement is most of such a small write)
_ACTIVE_CASES = DriverStatement(
    select(Case.id, Case.account_id, Case.priority, Case.child_safety)
    .where(
        Case.account_id.in_(bindparam("accounts", expanding=True)),
        case_is_active(),
    )
    .order_by(Case.account_id)
    .with_for_update(),
    expanding="accounts",
)
_NEW_CASE = DriverStatement(insert(Case).returning(Case.id))
_TOUCH_CASE = DriverStatement(
    update(Case)
    .where(Case.id == bindparam("case_id"))
    .values(
        updated_at=bindparam("at"),
        version=Case.version + 1,
        priority=bindparam("priority"),
        child_safety=bindparam("child_safety"),
    )
)
_NEW_ITEMS = DriverStatement(insert(CaseItem))


@dataclass(frozen=True)
class CaseWant:
    """What one event asks of its account's case: join it if there is one (raising its
    priority or child-safety flag to what a rule asks) and open one when `open_new`."""

    account_id: str
    evaluation: Evaluation
    open_new: bool


@dataclass
class _Joined:
    """An account's case as a batch of events leaves it (id None: opened by the batch)."""

    account_id: str
    id: int | None
    priority: int
    child_safety: bool
    reason: str = ""


def cases_for_events(
    conn: Connection | Session, wants: Sequence[CaseWant], at: datetime
) -> list[int | None]:
    """The case each event joins, in order (None where it joins none), for a batch of
    events written in one transaction: the accounts' active cases are read (and locked) in
    one statement, the cases the batch opens are inserted in one, and each case touched is
    updated once. An event joins a case its account had, or one an earlier event of the
    batch opened, as if the events had been written one after another."""
    if not wants:
        return []
    accounts = sorted({w.account_id for w in wants})  # one lock order for every writer
    cases = {
        account: _Joined(account, case_id, priority, bool(child_safety))
        for case_id, account, priority, child_safety in _ACTIVE_CASES.rows(
            conn, {"accounts": accounts}
        )
    }
    joined: list[_Joined | None] = []
    for w in wants:
        case, wanted = cases.get(w.account_id), w.evaluation.case
        if case is None and w.open_new:
            reason = ",".join(h.rule for h in w.evaluation.live)[:200]
            priority = wanted.priority if wanted else 1
            child_safety = wanted.child_safety if wanted else True
            case = cases[w.account_id] = _Joined(w.account_id, None, priority, child_safety, reason)
        elif case is not None and wanted is not None:
            case.priority = max(case.priority, wanted.priority)
            case.child_safety = case.child_safety or wanted.child_safety
        joined.append(case)
    touched = {id(c): c for c in joined if c is not None}.values()
    updates = [
        {"case_id": c.id, "at": at, "priority": c.priority, "child_safety": c.child_safety}
        for c in touched
        if c.id is not None
    ]
    _TOUCH_CASE.many(conn, updates)
    new = [c for c in touched if c.id is None]
    ids = _NEW_CASE.returning(conn, [_new_case(c, at) for c in new])
    for c, (case_id,) in zip(new, ids, strict=True):
        c.id = case_id
    return [c.id if c is not None else None for c in joined]


def _new_case(case: _Joined, at: datetime) -> dict[str, object]:
    return {
        "account_id": case.account_id,
        "state": "open",
        "priority": case.priority,
        "child_safety": case.child_safety,
        "reason": case.reason,
        "opened_at": at,
        "updated_at": at,
        "claimed_by": None,
        "claimed_at": None,
        "decision": None,
        "decided_by": None,
        "decided_at": None,
        "note": "",
        "version": 1,
    }


def case_item_rows(
    case_id: int,
    event_id: int,
    given: EventInput,
    found: Sequence[Match],
    signals: dict[str, str],
    at: datetime,
) -> list[dict[str, object]]:
    """What the event brings to its case: one item per bank entry its media matched (the
    closest match, and every signal type that matched it), or the report or flag."""
    where = {
        "signals": signals,
        "media_ref": given.media_ref,
        "where": given.where,
        "account_age_band": given.account_age_band,
    }
    media: dict[str, object] = {k: v for k, v in where.items() if v}
    base = {"case_id": case_id, "event_id": event_id, "at": at}
    rows: list[dict[str, object]] = []
    if found:
        by_entry: dict[tuple[str, int], list[Match]] = {}
        for m in found:
            by_entry.setdefault((m.bank, m.content_id), []).append(m)
        for (bank, content_id), ms in by_entry.items():
            # the closest; at equal distance an exact digest before a perceptual match
            best = min(ms, key=lambda m: (m.distance, not get_signal_type(m.signal_type).exact))
            detail = {
                **media,
                "variant": best.variant,
                "external_id": best.external_id,
                "matched_by": sorted({m.signal_type for m in ms}),
            }
            rows.append(
                {
                    **base,
                    "kind": "match",
                    "bank_name": bank,
                    "content_id": content_id,
                    "signal_type": best.signal_type,
                    "distance": best.distance,
                    "detail": detail,
                }
            )
    else:
        detail = dict(media)
        if given.kind == "report":
            detail.update(reporter=given.reporter, reason=given.reason)
        elif given.kind == "pathways_flag":
            detail.update(score=given.score, reasons=list(given.reasons))
        rows.append(
            {
                **base,
                "kind": given.kind,
                "bank_name": None,
                "content_id": None,
                "signal_type": None,
                "distance": None,
                "detail": detail,
            }
        )
    return rows


def insert_case_items(s: Connection | Session, rows: list[dict[str, object]]) -> None:
    """Insert case items (from `case_item_rows`) in the caller's transaction."""
    _NEW_ITEMS.many(s, rows)


@dataclass(frozen=True)
class _Visible:
    """Which cases an actor may see, as a query condition."""

    all: bool
    others_only: bool


class CaseService:
    """Cases as one actor may see and decide them."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        *,
        banks: BankService | None = None,
        claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT,
        negative_bank: str = DEFAULT_NEGATIVE_BANK,
        evidence: EvidenceStore | None = None,
    ) -> None:
        """`evidence`: the preserved media decisions act on (a `confirmed` decision starts
        its retention clock, `not_abuse` deletes it), as the retention system may."""
        self.db = db
        self.evidence = evidence
        self.actor = actor
        self.banks = banks or BankService(db, actor.name)
        self.claim_timeout = claim_timeout
        self.negative_bank = negative_bank

    def _scope(self) -> _Visible:
        a = self.actor
        if a.is_admin or a.has("child_safety"):
            return _Visible(all=True, others_only=False)
        if a.has("moderator"):
            return _Visible(all=False, others_only=True)
        raise Forbidden(f"{a.name} ({', '.join(sorted(a.roles)) or 'no role'}) may not see cases")

    def list(
        self,
        *,
        state: str | None = None,
        account_id: str | None = None,
        limit: int = 100,
        after: int = 0,
    ) -> list[CaseInfo]:
        """Cases this actor may see, highest priority and oldest first (the review queue);
        child-safety cases are absent for those who may not see them."""
        scope = self._scope()
        q = select(Case, select(func.count()).where(CaseItem.case_id == Case.id).scalar_subquery())
        if scope.others_only:
            q = q.where(Case.child_safety.is_(False))
        if state is not None:
            q = q.where(case_is_active() if state == "active" else Case.state == state)
        if account_id is not None:
            q = q.where(Case.account_id == account_id)
        if after:
            q = q.where(Case.id > after)
        q = q.order_by(Case.priority.desc(), Case.opened_at, Case.id).limit(
            max(1, min(limit, 1000))
        )
        with self.db.transaction() as s:
            return [CaseInfo.of(c, n) for c, n in s.execute(q).all()]

    def queue(self, f: QueueFilter | None = None, *, offset: int = 0, limit: int = 50) -> QueuePage:
        """One page of the active cases this actor may see, filtered, with their total."""
        scope = self._scope()
        with self.db.transaction() as s:
            return queue_page(
                s,
                f or QueueFilter(),
                others_only=scope.others_only,
                offset=offset,
                limit=limit,
                now=utcnow(),
                claim_timeout=self.claim_timeout,
            )

    def get(self, case_id: int) -> CaseDetail:
        """A case with everything it gathered; Forbidden if this actor may not see it. Each
        view of a child-safety case is audited."""
        self._scope()
        with self.db.write_transaction() as s:
            case = self._row(s, case_id, lock=False)
            self._may_see(case)
            items = s.scalars(
                select(CaseItem).where(CaseItem.case_id == case_id).order_by(CaseItem.id)
            ).all()
            if case.child_safety:
                audit(s, self.actor.name, "case.view", f"case:{case_id}")
            return CaseDetail(
                CaseInfo.of(case, len(items)), tuple(CaseItemInfo.of(i) for i in items)
            )

    def claim(self, case_id: int, *, now: datetime | None = None) -> CaseInfo:
        """Take a case for review: nobody else can decide it while the claim lasts."""
        now = now or utcnow()
        with self.db.write_transaction() as s:
            case = self._row(s, case_id)
            self._may_see(case)
            if case.state not in ACTIVE_CASE_STATES:
                raise Conflict(f"case {case_id} is {case.state}, not open for review")
            me = self.actor.user or self.actor.name
            self._not_claimed_by_other(case, me, now)
            case.state, case.claimed_by, case.claimed_at = "in_review", me, now
            case.updated_at, case.version = now, case.version + 1
            audit(s, self.actor.name, "case.claim", f"case:{case_id}")
            return CaseInfo.of(case)

    def release(self, case_id: int) -> CaseInfo:
        with self.db.write_transaction() as s:
            case = self._row(s, case_id)
            self._may_see(case)
            me = self.actor.user or self.actor.name
            if case.state == "in_review" and (case.claimed_by == me or self.actor.is_admin):
                case.state, case.claimed_by, case.claimed_at = "open", None, None
                case.updated_at, case.version = utcnow(), case.version + 1
                audit(s, self.actor.name, "case.release", f"case:{case_id}")
            return CaseInfo.of(case)

    def decide(
        self,
        case_id: int,
        decision: str,
        *,
        add_to_bank: str | None = None,
        negative_bank: str | None = None,
        note: str = "",
        now: datetime | None = None,
    ) -> Decision:
        """Decide a case. `confirmed` with `add_to_bank` adds the media of its matches to
        that bank, with provenance `case:<id>`; `not_abuse` adds them to a negative bank
        (`negative_bank`, default "not-abuse", created if missing) so they stop matching;
        `escalate` puts it back in the queue at top priority for child-safety specialists.
        All in one transaction with the decision, its audit entry and its webhook."""
        if decision not in DECISIONS:
            raise InvalidRequest(f"unknown decision {decision!r}: use {', '.join(DECISIONS)}")
        if add_to_bank is not None and decision != "confirmed":
            raise InvalidRequest("--add-to-bank goes with a confirmed decision")
        now = now or utcnow()
        self._still_open(case_id)  # before making a bank for a decision that cannot stand
        target = add_to_bank
        if decision == "not_abuse":
            target = negative_bank or self.negative_bank
            self._ensure_negative(target)
        if target is not None:
            self._check_bank(target, negative=decision == "not_abuse")
        added: list[dict[str, object]] = []
        with self.db.write_transaction() as s:
            case = self._row(s, case_id)
            self._may_see(case)
            _refuse_if_decided(case)
            me = self.actor.user or self.actor.name
            self._not_claimed_by_other(case, me, now)
            if target is not None:
                added = _feed_back(self.banks, s, case, target)
            switch_off = self._end_quarantine(s, case, decision, me, now)
            case.decision, case.decided_by, case.decided_at = decision, me, now
            case.note = note[:5000]
            if decision == "escalate":
                case.state, case.claimed_by, case.claimed_at = "open", None, None
                case.priority, case.child_safety = 3, True
            else:
                case.state = "decided"
            case.updated_at, case.version = now, case.version + 1
            s.add(
                CaseItem(
                    case_id=case.id,
                    kind="decision",
                    at=now,
                    detail={"decision": decision, "by": me, "note": note[:5000], "added": added},
                )
            )
            audit(
                s,
                self.actor.name,
                "case.decide",
                f"case:{case_id}",
                decision=decision,
                added=added,
                note=note[:500],
            )
            payload = {
                "case_id": case.id,
                "account_id": case.account_id,
                "decision": decision,
                "decided_by": me,
            }
            enqueue(s, "decision", payload, f"decision:{case.id}:{case.version}")
            info = CaseInfo.of(case)
        if added and self.banks.on_change is not None:
            self.banks.on_change()
        if switch_off is not None:
            self.banks.set_content_disabled(*switch_off, until=FOREVER)
        if self.evidence is not None and decision == "confirmed":
            self.evidence.start_clock(case_id, "decision", now)
        elif self.evidence is not None and decision == "not_abuse":
            self.evidence.discard_case(case_id, "the case was decided not_abuse")
        return Decision(info, tuple(added))

    # -- helpers ---------------------------------------------------------------------------

    def _row(self, s: Session, case_id: int, *, lock: bool = True) -> Case:
        q = select(Case).where(Case.id == case_id)
        case = s.scalar(q.with_for_update() if lock else q)
        if case is None:
            raise CaseNotFound(f"no case {case_id} (see `safeguard cases list`)")
        return case

    def _may_see(self, case: Case) -> None:
        if not self.actor.may_see_case(case.child_safety):
            kind = "child-safety case" if case.child_safety else "case"
            raise Forbidden(
                f"{self.actor.name} may not see {kind} {case.id}: it needs the child_safety role"
            )

    def _not_claimed_by_other(self, case: Case, me: str, now: datetime) -> None:
        if case.state != "in_review" or case.claimed_by in (None, me):
            return
        claimed_at = case.claimed_at or now
        if now - claimed_at < self.claim_timeout:
            raise Conflict(
                f"case {case.id} is claimed by {case.claimed_by} since {claimed_at.isoformat()}"
            )

    def _still_open(self, case_id: int) -> None:
        """Conflict naming who decided the case, if it is decided (checked again, under a
        lock, in the decision's transaction)."""
        with self.db.transaction() as s:
            case = self._row(s, case_id, lock=False)
            self._may_see(case)
            _refuse_if_decided(case)

    def _end_quarantine(
        self, s: Session, case: Case, decision: str, me: str, now: datetime
    ) -> tuple[str, int] | None:
        """Deciding the case of a paused bank entry releases it; `not_abuse` also asks for
        the entry to be switched off (returned: (bank, content id), done once committed)."""
        if not case.account_id.startswith(ENTRY_ACCOUNT) or decision == "escalate":
            return None
        content_id = int(case.account_id[len(ENTRY_ACCOUNT) :])
        entry = s.get(QuarantinedEntry, content_id, with_for_update=True)
        if entry is None:
            return None
        if entry.released_at is None:
            entry.released_at, entry.released_by = now, me
            audit(
                s, self.actor.name, "quarantine.release", f"content:{content_id}", decision=decision
            )
        return (entry.bank_name, content_id) if decision == "not_abuse" else None

    def _check_bank(self, name: str, *, negative: bool) -> None:
        info = self.banks.get(name, counts=False)
        if info.negative != negative:
            want = "a negative bank" if negative else "a bank that is not negative"
            raise InvalidRequest(f"bank {name!r} is not {want}")

    def _ensure_negative(self, name: str) -> None:
        with self.db.transaction() as s:
            exists = s.scalar(select(Bank.id).where(Bank.name == name)) is not None
        if not exists:
            with contextlib.suppress(BankExists):  # created by a concurrent decision
                self.banks.create(
                    name, negative=True, description="hashes reviewers decided are not abuse"
                )


def _refuse_if_decided(case: Case) -> None:
    if case.state not in ACTIVE_CASE_STATES:
        who = case.decided_by or "someone"
        raise Conflict(
            f"case {case.id} was already decided by {who} ({case.decision}); nothing changed"
        )


def _feed_back(banks: BankService, s: Session, case: Case, bank: str) -> list[dict[str, object]]:
    """Add the media signals of the case's matches to `bank` (in the decision's transaction),
    each once, with provenance `case:<id>`."""
    items = s.scalars(
        select(CaseItem).where(CaseItem.case_id == case.id, CaseItem.kind == "match")
    ).all()
    seen: set[tuple[tuple[str, str], ...]] = set()
    added: list[dict[str, object]] = []
    for item in items:
        detail = item.detail or {}
        raw = detail.get("signals")
        signals = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        key = tuple(sorted(signals.items()))
        if not signals or key in seen:
            continue
        seen.add(key)
        ref = detail.get("media_ref")
        provenance = Provenance(
            source=f"case:{case.id}",
            external_id=str(ref) if ref else None,
            note=f"decided {case.account_id}",
        )
        result = banks.add(bank, signals, provenance, session=s)
        added.append({"bank": bank, "content_id": result.content_id, "created": result.created})
    return added
