"""The retention clock runs out: `purge` deletes every item whose `retain_until` has passed
and that no legal hold keeps, each in its own transaction with its own audit entry
("evidence.delete"), so a failure half way leaves every item either deleted (file gone, row
marked, audited) or untouched. A file already missing is recorded as such.

`now` is passed in (the CLI's `--as-of`, the worker's clock, a test's injected clock) and is
recorded in each audit entry; `deleted_at` is the real time of the deletion.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.config import Settings
from safeguard.errors import SafeguardError
from safeguard.evidence.config import EvidenceConfig
from safeguard.evidence.files import locate, remove
from safeguard.evidence.periods import (
    DECISION_DAYS_ENV,
    NCA_DAYS_ENV,
    REASONS,
    Period,
    RetentionPolicy,
    aware,
)
from safeguard.evidence.records import PurgeReport
from safeguard.store import Database
from safeguard.store.evidence_tables import EvidenceItem
from safeguard.store.models import utcnow

__all__ = [
    "DECISION_DAYS_ENV",
    "NCA_DAYS_ENV",
    "REASONS",
    "SYSTEM",
    "Period",
    "RetentionPolicy",
    "delete_into",
    "purge",
    "purge_task",
]

#: who the worker's purge acts for (recorded in the audit log)
SYSTEM = Actor("system:retention", frozenset({"child_safety"}))

#: why an item is to be deleted now, or None when it no longer is (checked under its lock)
Why = Callable[[EvidenceItem], str | None]


def purge(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    actor: Actor | None = None,
    config: EvidenceConfig | None = None,
) -> PurgeReport:
    """Delete every item whose clock ran out before `now` and that no legal hold keeps."""
    actor = actor or SYSTEM
    actor.require(actor.may_see_case(True), "purge evidence")
    as_of = aware(now)
    config = config or EvidenceConfig.from_env(settings)
    with db.transaction() as s:
        expired = s.execute(
            select(EvidenceItem.id, EvidenceItem.legal_hold)
            .where(
                EvidenceItem.deleted_at.is_(None),
                EvidenceItem.retain_until.is_not(None),
                EvidenceItem.retain_until < as_of,
            )
            .order_by(EvidenceItem.id)
        ).all()

    def why(row: EvidenceItem) -> str | None:
        if row.retain_until is None or row.retain_until >= as_of:
            return None  # a later report extended it meanwhile
        return (
            f"retention ended: the {row.clock_reason} clock ran out at "
            f"{row.retain_until:%Y-%m-%d %H:%M} UTC"
        )

    report = PurgeReport(as_of=as_of)
    for item_id, held in expired:
        if held:
            report.held.append(item_id)
        else:
            delete_into(report, db, config.directory, item_id, actor, why, as_of=as_of)
    return report


def purge_task(settings: Settings) -> Callable[[datetime], object]:
    """The purge as a scheduled job for `safeguard worker`: `fn(now)` opens the store,
    purges as of `now` and returns the PurgeReport."""
    config = EvidenceConfig.from_env(settings)

    def run(now: datetime) -> object:
        db = Database.open(settings.database_url)
        try:
            return purge(db, settings, now, config=config)
        finally:
            db.close()

    return run


def delete_into(
    report: PurgeReport,
    db: Database,
    directory: Path,
    item_id: int,
    actor: Actor,
    why: Why,
    *,
    as_of: datetime,
) -> None:
    """Delete one item in its own transaction and note the outcome in `report`; a failure
    is noted too, and leaves the item as it was."""
    try:
        outcome = _delete(db, directory, item_id, actor, why, as_of)
    except SafeguardError as e:
        report.failed.append((item_id, e.message))
        return
    except (OSError, SQLAlchemyError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        report.failed.append((item_id, first))
        return
    if outcome in ("deleted", "missing"):
        report.deleted.append(item_id)
        if outcome == "missing":
            report.missing_files.append(item_id)
    elif outcome == "held":
        report.held.append(item_id)


def _delete(
    db: Database, directory: Path, item_id: int, actor: Actor, why: Why, as_of: datetime
) -> str:
    with db.write_transaction() as s:
        row = s.scalar(select(EvidenceItem).where(EvidenceItem.id == item_id).with_for_update())
        if row is None or row.deleted_at is not None:
            return "gone"
        if row.legal_hold:
            return "held"
        reason = why(row)
        if reason is None:
            return "kept"
        path = locate(directory, row.path)
        present = path.exists()
        row.deleted_at = utcnow()
        row.deleted_reason = reason if present else f"{reason}; its file was already missing"
        audit(
            s,
            actor.name,
            "evidence.delete",
            f"evidence:{row.id}",
            case=row.case_id,
            reason=reason,
            sha256=row.sha256,
            size=row.size,
            clock_reason=row.clock_reason,
            retain_until=row.retain_until,
            as_of=as_of,
            file="removed" if present else "missing",
        )
        s.flush()
        # last, so that any failure before it leaves the file and the row as they were
        if present:
            remove(path)
        return "deleted" if present else "missing"
