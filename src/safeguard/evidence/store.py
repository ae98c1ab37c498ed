"""Preserved evidence of a case: the media encrypted at rest (safeguard.evidence.keys), the
record of it, its retention clock and legal holds. Only those who may see child-safety
cases (specialists, admins, the CLI's operator) preserve, list, read or hold evidence;
rotating keys is an admin's. Every read and every change is audited.

The clock does not run while a case is undecided (`retain_until` None: kept). A report or a
decision starts it (`start_clock`); a later report extends it, never shortens it. Evidence
preserved into a case whose clock already runs takes the case's clock. A legal hold stops
the clock: neither the purge nor a discard deletes a held item.
"""

from __future__ import annotations

import builtins
import hashlib
import re
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.config import Settings
from safeguard.errors import CaseNotFound, ContentNotFound, FileProblem, InvalidRequest
from safeguard.evidence import files
from safeguard.evidence.config import EvidenceConfig
from safeguard.evidence.keys import KeyRing, seal, unseal
from safeguard.evidence.periods import aware
from safeguard.evidence.records import EvidenceInfo, PurgeReport, RotationReport
from safeguard.evidence.retention import delete_into
from safeguard.store import Database
from safeguard.store.evidence_tables import EvidenceItem
from safeguard.store.models import utcnow
from safeguard.store.review_tables import Case

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: the items not deleted, and their ids in order
_LIVE = select(EvidenceItem).where(EvidenceItem.deleted_at.is_(None))
_LIVE_IDS = (
    select(EvidenceItem.id).where(EvidenceItem.deleted_at.is_(None)).order_by(EvidenceItem.id)
)


def binding(case_id: int, file_id: str) -> bytes:
    """What a sealed file is bound to (its associated data besides the header)."""
    return f"safeguard-evidence;case={case_id};file={file_id}".encode("ascii")


class EvidenceStore:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        actor: Actor,
        *,
        config: EvidenceConfig | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.actor = actor
        self.config = config or EvidenceConfig.from_env(settings)
        self._ring: KeyRing | None = None

    @property
    def ring(self) -> KeyRing:
        """The key ring, loaded when first needed (listing or holds need no key)."""
        if self._ring is None:
            self._ring = self.config.key_ring()
        return self._ring

    # --- preserving and reading -------------------------------------------------------

    def preserve(self, case_id: int, data: bytes, name: str) -> EvidenceInfo:
        """Encrypt `data` into a new file of the case's evidence and record it."""
        self._require("preserve evidence")
        ring = self.ring
        if not data:
            raise InvalidRequest("nothing to preserve: the data is empty")
        clean = _CONTROL.sub("", str(name).replace("\\", "/").rsplit("/", 1)[-1])[:500]
        file_id = files.new_file_id()
        relative = files.relative_path(file_id)
        path = files.locate(self.config.directory, relative)
        key_id, sealed = seal(ring, data, binding(case_id, file_id))
        digest = hashlib.sha256(data).hexdigest()
        written = False
        try:
            with self.db.write_transaction() as s:
                if s.get(Case, case_id) is None:
                    raise CaseNotFound(f"no case {case_id} (see `safeguard cases list`)")
                clock = self._case_clock(s, case_id)
                self.config.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                files.write_private(path, sealed)
                written = True
                row = EvidenceItem(
                    case_id=case_id,
                    sha256=digest,
                    size=len(data),
                    name=clean,
                    path=relative,
                    key_id=key_id,
                    stored_at=utcnow(),
                    stored_by=self.actor.name,
                    clock_reason=clock[0] if clock else None,
                    retain_until=clock[1] if clock else None,
                    legal_hold=False,
                    deleted_reason="",
                )
                s.add(row)
                s.flush()
                audit(
                    s,
                    self.actor.name,
                    "evidence.preserve",
                    f"evidence:{row.id}",
                    case=case_id,
                    name=clean,
                    sha256=digest,
                    size=len(data),
                    key_id=key_id,
                    retain_until=row.retain_until,
                )
                info = EvidenceInfo.of(row)
        except BaseException:
            if written:
                files.remove(path)
            raise
        return info

    def read(self, evidence_id: int, *, purpose: str = "view") -> bytes:
        """The decrypted bytes of an item, checked against their SHA-256. Every read is
        audited ("evidence.view", with `purpose`), a failed one too."""
        self._require("see evidence")
        ring = self.ring
        failure: FileProblem | None = None
        data = b""
        with self.db.write_transaction() as s:
            row = self._locked(s, evidence_id)
            try:
                data = self._decrypt(row, ring)[1]
            except FileProblem as e:
                failure = e
            audit(
                s,
                self.actor.name,
                "evidence.view",
                f"evidence:{row.id}",
                case=row.case_id,
                purpose=purpose,
                ok=failure is None,
                **({"error": failure.message} if failure else {}),
            )
        if failure is not None:
            raise FileProblem(f"evidence {evidence_id}: {failure.message}", code=failure.code)
        return data

    def export(self, evidence_id: int, out: Path) -> EvidenceInfo:
        """Decrypt an item into a new private file (mode 0600) at `out`; audited as a read
        whose purpose names the file."""
        self._require("see evidence")
        out = Path(out)
        if out.exists():
            raise InvalidRequest(f"{out} already exists: name a new file to export to")
        data = self.read(evidence_id, purpose=f"export to {out.resolve()}")
        try:
            files.write_private(out, data)
        except OSError as e:
            raise FileProblem(f"cannot write {out}: {e.strerror}", code="unwritable") from None
        return self.get(evidence_id)

    # --- the clock, holds and discards ------------------------------------------------

    def start_clock(self, case_id: int, reason: str, at: datetime) -> int:
        """Start (or extend) the retention clock of the case's live evidence: kept until
        `at` plus the period of `reason`. Returns how many items' deadline moved."""
        self._require("start the evidence retention clock")
        until = self.config.retention.period(reason).after(aware(at))
        with self.db.write_transaction() as s:
            if s.get(Case, case_id) is None:
                raise CaseNotFound(f"no case {case_id} (see `safeguard cases list`)")
            moved = []
            for row in s.scalars(
                _LIVE.where(EvidenceItem.case_id == case_id)
                .order_by(EvidenceItem.id)
                .with_for_update()
            ):
                if row.retain_until is None or row.retain_until < until:
                    row.retain_until = until
                    row.clock_reason = reason
                    moved.append(row.id)
            if moved:
                audit(
                    s,
                    self.actor.name,
                    "evidence.clock",
                    f"case:{case_id}",
                    reason=reason,
                    at=aware(at),
                    retain_until=until,
                    items=moved,
                )
            return len(moved)

    def discard_case(self, case_id: int, reason: str) -> PurgeReport:
        """Delete the case's evidence now (a case decided not_abuse), each item in its own
        transaction and audit entry; held items stay and are listed as held."""
        self._require("discard evidence")
        if not reason.strip():
            raise InvalidRequest("say why the case's evidence is discarded")
        now = utcnow()
        with self.db.transaction() as s:
            ids = list(s.scalars(_LIVE_IDS.where(EvidenceItem.case_id == case_id)))
        report = PurgeReport(as_of=now)
        for item_id in ids:
            delete_into(
                report,
                self.db,
                self.config.directory,
                item_id,
                self.actor,
                lambda row: f"discarded: {reason.strip()}",
                as_of=now,
            )
        return report

    def hold(
        self, evidence_id: int | None = None, *, case_id: int | None = None, note: str = ""
    ) -> list[EvidenceInfo]:
        """Put a legal hold on an item, or on every live item of a case: the clock stops
        (no purge or discard deletes it) until the hold is released."""
        return self._set_hold(True, evidence_id, case_id, note)

    def release_hold(
        self, evidence_id: int | None = None, *, case_id: int | None = None, note: str = ""
    ) -> list[EvidenceInfo]:
        """Release a legal hold: the item's clock (if any) counts again; if it ran out
        meanwhile, the next purge deletes the item."""
        return self._set_hold(False, evidence_id, case_id, note)

    # --- listing ---------------------------------------------------------------------

    def list(
        self, case_id: int | None = None, include_deleted: bool = False
    ) -> builtins.list[EvidenceInfo]:
        """Evidence records (never contents), oldest first."""
        self._require("list evidence")
        q = select(EvidenceItem) if include_deleted else _LIVE
        if case_id is not None:
            q = q.where(EvidenceItem.case_id == case_id)
        with self.db.transaction() as s:
            return [EvidenceInfo.of(r) for r in s.scalars(q.order_by(EvidenceItem.id))]

    def get(self, evidence_id: int) -> EvidenceInfo:
        self._require("see evidence")
        with self.db.transaction() as s:
            row = s.get(EvidenceItem, evidence_id)
            if row is None:
                raise ContentNotFound(_no_such(evidence_id))
            return EvidenceInfo.of(row)

    # --- key rotation ----------------------------------------------------------------

    def rotate(self) -> RotationReport:
        """Re-encrypt every live item not sealed with the current key under it, each in its
        own transaction (the new file replaces the old atomically before the record
        changes). When `remaining` is 0, older keys may be removed from the key file."""
        self.actor.require_admin("rotate evidence keys")
        ring = self.ring
        current = ring.current_id
        report = RotationReport(key_id=current)
        with self.db.transaction() as s:
            stale = list(s.scalars(_LIVE_IDS.where(EvidenceItem.key_id != current)))
            report.already_current = _count_live(s, EvidenceItem.key_id == current)
        for item_id in stale:
            try:
                with self.db.write_transaction() as s:
                    row = s.scalar(_LIVE.where(EvidenceItem.id == item_id).with_for_update())
                    if row is None or row.key_id == current:
                        continue  # deleted or re-encrypted meanwhile
                    old, data = self._decrypt(row, ring)
                    path = files.locate(self.config.directory, row.path)
                    _, sealed = seal(ring, data, binding(row.case_id, files.file_id_of(row.path)))
                    files.write_private(path, sealed)
                    row.key_id = current
                    audit(
                        s,
                        self.actor.name,
                        "evidence.rekey",
                        f"evidence:{row.id}",
                        case=row.case_id,
                        from_key=old,
                        to_key=current,
                    )
                report.rotated.append(item_id)
            except FileProblem as e:
                report.failed.append((item_id, e.message))
            except OSError as e:
                report.failed.append((item_id, f"cannot write its file: {e.strerror}"))
        with self.db.transaction() as s:
            report.remaining = _count_live(s, EvidenceItem.key_id != current)
        return report

    # --- helpers ---------------------------------------------------------------------

    def _require(self, what: str) -> None:
        self.actor.require(self.actor.may_see_case(True), what)

    @staticmethod
    def _locked(s: Session, evidence_id: int) -> EvidenceItem:
        """The live item, locked for this transaction."""
        row = s.scalar(select(EvidenceItem).where(EvidenceItem.id == evidence_id).with_for_update())
        if row is None:
            raise ContentNotFound(_no_such(evidence_id))
        if row.deleted_at is not None:
            raise ContentNotFound(
                f"evidence {evidence_id} was deleted at {row.deleted_at:%Y-%m-%d %H:%M} UTC "
                f"({row.deleted_reason})"
            )
        return row

    def _decrypt(self, row: EvidenceItem, ring: KeyRing) -> tuple[str, bytes]:
        """(key id, plaintext) of a record's file, checked against its SHA-256."""
        path = files.locate(self.config.directory, row.path)
        try:
            sealed = path.read_bytes()
        except FileNotFoundError:
            raise FileProblem(
                f"its file {row.path} is missing from {self.config.directory}",
                code="evidence_missing",
            ) from None
        except OSError as e:
            raise FileProblem(
                f"cannot read its file {row.path}: {e.strerror}", code="evidence_unreadable"
            ) from None
        key_id, data = unseal(ring, sealed, binding(row.case_id, files.file_id_of(row.path)))
        if hashlib.sha256(data).hexdigest() != row.sha256:
            raise FileProblem(
                "its decrypted bytes do not match the recorded SHA-256",
                code="evidence_unreadable",
            )
        return key_id, data

    @staticmethod
    def _case_clock(s: Session, case_id: int) -> tuple[str, datetime] | None:
        """The latest running clock among the case's live items, if any."""
        row = s.execute(
            select(EvidenceItem.clock_reason, EvidenceItem.retain_until)
            .where(
                EvidenceItem.case_id == case_id,
                EvidenceItem.deleted_at.is_(None),
                EvidenceItem.retain_until.is_not(None),
            )
            .order_by(EvidenceItem.retain_until.desc())
            .limit(1)
        ).first()
        return (row[0] or "", row[1]) if row and row[1] is not None else None

    def _set_hold(
        self, on: bool, evidence_id: int | None, case_id: int | None, note: str
    ) -> builtins.list[EvidenceInfo]:
        what = "place a legal hold on evidence" if on else "release a legal hold on evidence"
        self._require(what)
        if (evidence_id is None) == (case_id is None):
            raise InvalidRequest("name one evidence item or one case (--case), not both")
        with self.db.write_transaction() as s:
            if evidence_id is not None:
                rows = [self._locked(s, evidence_id)]
            else:
                rows = list(
                    s.scalars(
                        _LIVE.where(EvidenceItem.case_id == case_id)
                        .order_by(EvidenceItem.id)
                        .with_for_update()
                    )
                )
                if not rows:
                    raise ContentNotFound(f"case {case_id} has no live evidence")
            for row in rows:
                if bool(row.legal_hold) != on:
                    row.legal_hold = on
                    audit(
                        s,
                        self.actor.name,
                        "evidence.hold" if on else "evidence.release",
                        f"evidence:{row.id}",
                        case=row.case_id,
                        note=note,
                        retain_until=row.retain_until,
                    )
            return [EvidenceInfo.of(r) for r in rows]


def _count_live(s: Session, condition: ColumnElement[bool]) -> int:
    """How many items not deleted meet `condition`."""
    q = select(func.count()).select_from(EvidenceItem).where(EvidenceItem.deleted_at.is_(None))
    return s.scalar(q.where(condition)) or 0


def _no_such(evidence_id: int) -> str:
    return f"no evidence item {evidence_id} (see `safeguard evidence list`)"
