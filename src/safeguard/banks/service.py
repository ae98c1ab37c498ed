"""Bank operations: the one place where banks and their content change.

Every method that changes state runs in a single transaction and appends a row to the
change log in that same transaction, so the audit trail and the data can never disagree,
and a failure half way leaves nothing behind.

Changes racing each other (a write and a delete of the same bank or item) are put in
order by locks: the bank's row (FOR UPDATE to change or delete the bank, FOR KEY SHARE to
change its content, which lets content changes run side by side) and a content item's row,
taken before anything is read; SQLite runs writers one at a time. The later request
then finds the thing gone (BankNotFound, ContentNotFound) or changed, and a collision that
still reaches the database is a Conflict (store/database.py), never a database error.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import IO, Any, Literal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.audit import record as audit
from safeguard.banks.formats import EmptyHashList, write_hash_list
from safeguard.banks.records import (
    AddResult,
    BankInfo,
    ContentInfo,
    ExportReport,
    HashRecord,
    ImportReport,
    Provenance,
    content_key,
)
from safeguard.errors import (
    BankExists,
    BankNotFound,
    Conflict,
    ContentNotFound,
    ImportFormatError,
    InvalidRequest,
    SafeguardError,
)
from safeguard.signals import get_signal_type, signal_types, validate_signals
from safeguard.signals.local import LocalSignal
from safeguard.signals.local import decode as decode_local
from safeguard.signals.pdq import PdqSignal
from safeguard.store import Bank, Change, Content, ContentFeatures, ContentSignal, Database
from safeguard.store.models import add_long_values, signal_rows, stored_value, utcnow

#: a whole bank name (used with fullmatch: `$` would also take a final newline)
BANK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
MAX_PDQ_THRESHOLD = PdqSignal.max_threshold  # kept for callers of the first releases
_BATCH = 2000


def check_bank_name(name: str) -> str:
    if not isinstance(name, str) or not BANK_NAME.fullmatch(name):
        raise InvalidRequest(
            f"invalid bank name {name!r}: use 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


def check_threshold(value: int, signal_type: str = PdqSignal.name) -> int:
    """`value` if it is a valid threshold for `signal_type`, else InvalidRequest."""
    st = get_signal_type(signal_type)
    label = st.name
    if st.exact:
        raise InvalidRequest(f"{st.name} matches identical values only: it takes no threshold")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{label} threshold must be an integer, got {value!r}")
    if not 0 <= value <= st.max_threshold:
        raise InvalidRequest(
            f"{label} threshold must be between 0 and {st.max_threshold}, got {value}"
        )
    return value


def check_thresholds(
    thresholds: Mapping[str, int] | None, pdq_threshold: int | None = None
) -> dict[str, int]:
    """Canonical {type name: threshold} from `thresholds` (names or aliases) and the
    `pdq_threshold` of the first releases; InvalidRequest naming any bad one."""
    clean: dict[str, int] = {}
    for name, value in (thresholds or {}).items():
        try:
            st = get_signal_type(name)
        except SafeguardError as e:
            raise InvalidRequest(e.message) from None
        clean[st.name] = check_threshold(value, st.name)
    if pdq_threshold is not None:
        clean[PdqSignal.name] = check_threshold(pdq_threshold)
    return clean


def effective_thresholds(stored: Mapping[str, int] | None) -> dict[str, int]:
    """The threshold of every non-exact registered type for a bank that set `stored`."""
    stored = stored or {}
    return {
        t.name: int(stored.get(t.name, t.default_threshold))
        for t in signal_types().values()
        if not t.exact
    }


#: longest source and external id stored (columns of 500 characters)
MAX_PROVENANCE = 500


def text_problem(what: str, value: str | None) -> str | None:
    """Why a text cannot be stored (PostgreSQL text holds no NUL and only valid UTF-8)."""
    if value is None:
        return None
    if "\x00" in value:
        return f"{what} contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{what} is not valid Unicode (it holds a lone surrogate)"
    return None


def check_text(what: str, value: str | None) -> None:
    if problem := text_problem(what, value):
        raise InvalidRequest(problem)


def provenance_problem(
    source: str, external_id: str | None, note: str = "", tags: tuple[str, ...] = ()
) -> str | None:
    for what, value in (("source", source), ("external id", external_id)):
        if value is not None and len(value) > MAX_PROVENANCE:
            return f"{what} longer than {MAX_PROVENANCE} characters"
    for what, value in (("source", source), ("external id", external_id), ("note", note)):
        if problem := text_problem(what, value):
            return problem
    return next((p for tag in tags if (p := text_problem("tag", tag))), None)


def clean_provenance(p: Provenance) -> Provenance:
    """Provenance as stored: text without surrounding whitespace, no empty tags (so every
    hash-list format, including CSV, which trims its fields, carries it unchanged)."""
    return dataclasses.replace(
        p,
        source=p.source.strip(),
        external_id=(p.external_id or "").strip() or None,
        note=p.note.strip(),
        tags=tuple(t.strip() for t in p.tags if t.strip()),
    )


def clean_record(r: HashRecord) -> HashRecord:
    p = clean_provenance(Provenance(r.source, r.external_id, r.note, tuple(r.tags)))
    return dataclasses.replace(
        r, source=p.source, external_id=p.external_id, note=p.note, tags=list(p.tags)
    )


def check_ratio(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidRequest(f"match ratio must be a number from 0 to 1, got {value!r}")
    return float(value)


class BankService:
    """Create, change and query banks and their content, recording who did what.

    `on_change`, if given, is called after every committed change (a server uses it to
    apply the change to its own index before it answers)."""

    def __init__(
        self, db: Database, actor: str, on_change: Callable[[], None] | None = None
    ) -> None:
        self.db = db
        self.actor = actor
        self.on_change = on_change

    @contextlib.contextmanager
    def _write(self, session: Session | None = None) -> Iterator[Session]:
        """One transaction for a change; `on_change` runs once it has committed. Given a
        `session`, the change joins the caller's transaction (the caller commits and
        calls `on_change`)."""
        if session is not None:
            yield session
            return
        with self.db.write_transaction() as s:
            yield s
        if self.on_change is not None:
            self.on_change()

    # -- banks -----------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        thresholds: Mapping[str, int] | None = None,
        pdq_threshold: int | None = None,
        negative: bool = False,
        description: str = "",
        enabled: bool = True,
        match_ratio: float = 1.0,
        dihedral: bool = True,
        trim_borders: bool = True,
        local_features: bool = True,
    ) -> BankInfo:
        """A new bank. `thresholds` sets distance thresholds by signal type (others use
        each type's default); `pdq_threshold` is the PDQ one, as the first releases took it."""
        check_bank_name(name)
        chosen = check_thresholds(thresholds, pdq_threshold)
        check_ratio(match_ratio)
        check_text("description", description)
        try:
            with self._write() as s:
                if s.scalar(select(Bank.id).where(Bank.name == name)) is not None:
                    raise BankExists(name)
                now = utcnow()
                bank = Bank(
                    name=name,
                    description=description,
                    thresholds=chosen,
                    negative=negative,
                    enabled=enabled,
                    match_ratio=match_ratio,
                    dihedral=dihedral,
                    trim_borders=trim_borders,
                    local_features=local_features,
                    created_at=now,
                    created_by=self.actor,
                    updated_at=now,
                )
                s.add(bank)
                s.flush()
                self._log(s, "bank.create", bank, thresholds=chosen, negative=negative)
                return self._info(s, bank, 0, {})
        except IntegrityError:  # created concurrently by someone else
            raise BankExists(name) from None

    def list(self) -> list[BankInfo]:
        with self.db.transaction() as s:
            banks = s.scalars(select(Bank).order_by(Bank.name)).all()
            counts = dict(
                s.execute(select(Content.bank_id, func.count()).group_by(Content.bank_id)).all()
            )
            sig = self._signal_counts(s, None)
            return [self._info(s, b, counts.get(b.id, 0), sig.get(b.id, {})) for b in banks]

    def get(self, name: str, *, counts: bool = True) -> BankInfo:
        """A bank's settings; with `counts=False` its content counts are left at zero (no
        counting: cheap on a bank of millions)."""
        with self.db.transaction() as s:
            bank = self._bank(s, name)
            return self._info(s, bank) if counts else self._info(s, bank, 0, {})

    def require(self, name: str) -> None:
        """BankNotFound unless the bank exists (cheap: no counting)."""
        with self.db.transaction() as s:
            self._bank(s, name)

    def update(
        self,
        name: str,
        *,
        new_name: str | None = None,
        enabled: bool | None = None,
        thresholds: Mapping[str, int] | None = None,
        pdq_threshold: int | None = None,
        negative: bool | None = None,
        description: str | None = None,
        match_ratio: float | None = None,
        dihedral: bool | None = None,
        trim_borders: bool | None = None,
        local_features: bool | None = None,
    ) -> BankInfo:
        """Change any of a bank's settings in one transaction: all of them, or none.
        `thresholds` changes the thresholds of the types it names, no others."""
        if new_name is not None:
            check_bank_name(new_name)
        chosen = check_thresholds(thresholds, pdq_threshold)
        if match_ratio is not None:
            check_ratio(match_ratio)
        check_text("description", description)
        try:
            with self._write() as s:
                bank = self._bank(s, name, lock="update")
                if new_name is not None and new_name != name:
                    if s.scalar(select(Bank.id).where(Bank.name == new_name)) is not None:
                        raise BankExists(new_name)
                    bank.name = new_name
                    self._log(s, "bank.rename", bank, old_name=name)
                if enabled is not None and bank.enabled != enabled:
                    bank.enabled = enabled
                    self._log(s, "bank.enable" if enabled else "bank.disable", bank)
                changed: dict[str, Any] = {}
                old = dict(bank.thresholds or {})
                new = {**old, **chosen}
                if effective_thresholds(new) != effective_thresholds(old):
                    changed["thresholds"] = {"from": old, "to": new}
                    bank.thresholds = new
                for attr, value in (
                    ("negative", negative),
                    ("description", description),
                    ("match_ratio", match_ratio),
                    ("dihedral", dihedral),
                    ("trim_borders", trim_borders),
                    ("local_features", local_features),
                ):
                    if value is not None and getattr(bank, attr) != value:
                        changed[attr] = {"from": getattr(bank, attr), "to": value}
                        setattr(bank, attr, value)
                if changed:
                    self._log(s, "bank.update", bank, **changed)
                if s.dirty:
                    bank.updated_at = utcnow()
                return self._info(s, bank)
        except IntegrityError:
            raise BankExists(new_name or name) from None

    def rename(self, name: str, new_name: str) -> BankInfo:
        return self.update(name, new_name=new_name)

    def set_enabled(self, name: str, enabled: bool) -> BankInfo:
        return self.update(name, enabled=enabled)

    def delete(self, name: str) -> int:
        """Delete a bank and all its content; returns how many content items went with it."""
        with self._write() as s:
            bank = self._bank(s, name, lock="update")
            n = s.scalar(select(func.count()).where(Content.bank_id == bank.id)) or 0
            # a statement, not ORM state: a concurrent delete makes this match no row
            if s.execute(delete(Bank).where(Bank.id == bank.id)).rowcount != 1:  # type: ignore[attr-defined]
                raise BankNotFound(name)
            self._log(s, "bank.delete", bank, content_removed=n)
            return n

    # -- content ---------------------------------------------------------------------------

    def add(
        self,
        name: str,
        signals: dict[str, str],
        provenance: Provenance = Provenance(),
        *,
        quality: Mapping[str, int] | None = None,
        pdq_quality: int | None = None,
        local: str | None = None,
        session: Session | None = None,
    ) -> AddResult:
        """Add one content item with its signals. Adding the same content again adds nothing.

        `quality` gives the quality of signals that have one (`pdq_quality`: PDQ's, as the
        first releases took it). `local` is the image's local-features value
        (signals/local.py), kept when the bank matches with local features. Given a
        `session`, the add joins that transaction (a review decision adds the media of a
        case to a bank in the transaction that records the decision)."""
        clean = validate_signals(signals)
        quality = dict(quality or {})
        if pdq_quality is not None:
            quality[PdqSignal.name] = pdq_quality
        if local is not None:
            decode_local(local)  # InvalidSignal if malformed
        p = provenance = clean_provenance(provenance)
        problem = provenance_problem(p.source, p.external_id, p.note, tuple(p.tags))
        if problem:
            raise InvalidRequest(problem)
        if session is not None:
            return self._add(name, clean, provenance, quality, local, session)
        try:
            return self._add(name, clean, provenance, quality, local)
        except IntegrityError:
            # the same content added by a concurrent request between our look and our
            # insert: look again, and find it
            try:
                return self._add(name, clean, provenance, quality, local)
            except IntegrityError:
                raise Conflict(f"content added to bank {name!r} concurrently; try again") from None

    def _add(
        self,
        name: str,
        clean: dict[str, str],
        provenance: Provenance,
        quality: dict[str, int],
        local: str | None,
        session: Session | None = None,
    ) -> AddResult:
        with self._write(session) as s:
            bank = self._bank(s, name, lock="share")
            existing = self._find_existing(s, bank.id, clean)
            if existing is not None:
                # an item imported from a hash list gets the features of its image back
                if (
                    local is not None
                    and bank.local_features
                    and s.get(ContentFeatures, existing) is None
                ):
                    s.add(ContentFeatures(content_id=existing, bank_id=bank.id, value=local))
                    self._log(s, "content.update", bank, existing, added=[LocalSignal.name])
                return AddResult(existing, created=False)
            content = Content(
                bank_id=bank.id,
                dedupe_key=content_key(clean),
                source=provenance.source,
                external_id=provenance.external_id,
                note=provenance.note,
                tags=list(provenance.tags),
                added_at=utcnow(),
                added_by=provenance.added_by or self.actor,
            )
            s.add(content)
            s.flush()
            for t, v in clean.items():
                s.add(
                    ContentSignal(
                        content_id=content.id,
                        bank_id=bank.id,
                        signal_type=t,
                        signal_value=stored_value(v),
                        quality=quality.get(t),
                    )
                )
            s.flush()
            add_long_values(s, [(content.id, t, v) for t, v in clean.items()])
            kept = local is not None and bank.local_features
            if kept:
                s.add(ContentFeatures(content_id=content.id, bank_id=bank.id, value=local))
            self._log(
                s,
                "content.add",
                bank,
                content.id,
                signals=sorted(clean) + ([LocalSignal.name] if kept else []),
            )
            return AddResult(content.id, created=True)

    def import_records(
        self,
        name: str,
        records: Iterable[HashRecord],
        *,
        source: str = "",
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Add many validated records in one transaction: all of them, or none. A list with
        no records is refused (EmptyHashList): an empty file is a mistake, not a no-op."""
        records = [clean_record(r) for r in records]
        if not records:
            raise EmptyHashList(source or name)
        problems = [
            (r.line, p)
            for r in records
            if (p := provenance_problem(r.source or source, r.external_id, r.note, tuple(r.tags)))
        ]
        if problems:
            raise ImportFormatError(source or name, problems[:20], len(problems))
        try:
            return self._import(name, records, source, on_progress)
        except IntegrityError:  # some of the same content added by a concurrent request
            raise Conflict(
                f"content added to bank {name!r} concurrently; nothing was imported: try again"
            ) from None

    def _import(
        self,
        name: str,
        records: builtins.list[HashRecord],
        source: str,
        on_progress: Callable[[int, int], None] | None,
    ) -> ImportReport:
        with self._write() as s:
            bank = self._bank(s, name, lock="share")
            keys = set(s.scalars(select(Content.dedupe_key).where(Content.bank_id == bank.id)))
            present = set(
                s.execute(
                    select(ContentSignal.signal_type, ContentSignal.signal_value).where(
                        ContentSignal.bank_id == bank.id
                    )
                ).all()
            )
            new: list[HashRecord] = []
            already = dup = 0
            seen: set[str] = set()
            for r in records:
                key = r.dedupe_key()
                if key in keys or any(
                    (t, stored_value(v)) in present for t, v in r.signals.items()
                ):
                    already += 1
                elif key in seen:
                    dup += 1
                else:
                    seen.add(key)
                    new.append(r)
            now = utcnow()
            conn = s.connection()
            first_id = last_id = None
            for i in range(0, len(new), _BATCH):
                batch = new[i : i + _BATCH]
                batch_keys = [r.dedupe_key() for r in batch]
                # RETURNING in batched multi-row INSERTs (SQLAlchemy "insertmanyvalues");
                # ids are mapped back by the per-bank unique key, not by row order
                id_of = dict(
                    conn.execute(
                        insert(Content.__table__).returning(  # type: ignore[arg-type]
                            Content.dedupe_key, Content.id
                        ),
                        [
                            {
                                "bank_id": bank.id,
                                "dedupe_key": key,
                                "source": r.source or source,
                                "external_id": r.external_id,
                                "note": r.note,
                                "tags": list(r.tags),
                                "added_at": now,
                                "added_by": self.actor,
                            }
                            for key, r in zip(batch_keys, batch, strict=True)
                        ],
                    ).all()
                )
                conn.execute(
                    insert(ContentSignal.__table__),  # type: ignore[arg-type]
                    [
                        {
                            "content_id": id_of[key],
                            "bank_id": bank.id,
                            "signal_type": t,
                            "signal_value": stored_value(v),
                        }
                        for key, r in zip(batch_keys, batch, strict=True)
                        for t, v in r.signals.items()
                    ],
                )
                add_long_values(
                    s,
                    [
                        (id_of[key], t, v)
                        for key, r in zip(batch_keys, batch, strict=True)
                        for t, v in r.signals.items()
                    ],
                )
                ids = [id_of[k] for k in batch_keys]
                first_id = min(ids) if first_id is None else min(first_id, *ids)
                last_id = max(ids) if last_id is None else max(last_id, *ids)
                if on_progress is not None:
                    on_progress(min(i + _BATCH, len(new)), len(new))
            report = ImportReport(
                bank=name,
                lines=len(records),
                added=len(new),
                already_present=already,
                duplicates_in_file=dup,
            )
            if new:
                self._log(
                    s,
                    "content.import",
                    bank,
                    added=len(new),
                    first_content_id=first_id,
                    last_content_id=last_id,
                    source=source,
                )
            return report

    def get_content(self, content_id: int, bank: str | None = None) -> ContentInfo:
        with self.db.transaction() as s:
            row = s.get(Content, content_id)
            b = s.get(Bank, row.bank_id) if row is not None else None
            if row is None or b is None or (bank is not None and b.name != bank):
                where = f" in bank {bank!r}" if bank else ""
                raise ContentNotFound(f"no content with id {content_id}{where}")
            return self._content_infos(s, b.name, [row])[0]

    def content_page(
        self,
        name: str,
        *,
        after: int = 0,
        before: int | None = None,
        newest_first: bool = False,
        limit: int = 100,
    ) -> builtins.list[ContentInfo]:
        """Up to `limit` content items of a bank with ids above `after` (and below
        `before`), in id order, or newest first with `newest_first`."""
        with self.db.transaction() as s:
            bank = self._bank(s, name)
            q = select(Content).where(Content.bank_id == bank.id, Content.id > after)
            if before is not None:
                q = q.where(Content.id < before)
            q = q.order_by(Content.id.desc() if newest_first else Content.id).limit(limit)
            return self._content_infos(s, bank.name, list(s.scalars(q).all()))

    def iter_content(self, name: str, *, batch: int = 5000) -> Iterator[ContentInfo]:
        """Every content item of a bank, in id order, read in batches."""
        last = 0
        while infos := self.content_page(name, after=last, limit=batch):
            yield from infos
            last = infos[-1].id

    def export(self, name: str, out: IO[str], fmt: str = "jsonl") -> ExportReport:
        """Write every item of a bank to `out` as a hash list in `fmt`, and say what the list
        leaves out (local features)."""
        with self.db.transaction() as s:
            bank_id = self._bank(s, name).id
        items = write_hash_list(self.iter_content(name), out, fmt)
        with self.db.transaction() as s:
            features = s.scalar(select(func.count()).where(ContentFeatures.bank_id == bank_id))
        return ExportReport(bank=name, format=fmt, items=items, local_features=features or 0)

    def remove_content(self, name: str, content_id: int, *, session: Session | None = None) -> None:
        """Remove one content item; given a `session`, in that transaction (a sync from a
        peer removes what the peer removed in the transaction that moves its cursor)."""
        with self._write(session) as s:
            bank = self._bank(s, name, lock="share")
            gone = s.execute(
                delete(Content).where(Content.id == content_id, Content.bank_id == bank.id)
            ).rowcount  # type: ignore[attr-defined]
            if gone != 1:  # never there, or removed by a concurrent request just now
                raise ContentNotFound(f"no content with id {content_id} in bank {name!r}")
            self._log(s, "content.remove", bank, content_id)

    def set_content_disabled(
        self, name: str, content_id: int, until: datetime | None
    ) -> ContentInfo:
        """Switch a content item off until `until` (None: back on; far future: for good)."""
        with self._write() as s:
            bank = self._bank(s, name, lock="share")
            row = s.scalar(
                select(Content)
                .where(Content.id == content_id, Content.bank_id == bank.id)
                .with_for_update()
            )
            if row is None:
                raise ContentNotFound(f"no content with id {content_id} in bank {name!r}")
            if row.disabled_until != until:
                row.disabled_until = until
                self._log(
                    s,
                    "content.update",
                    bank,
                    content_id,
                    disabled_until=until.isoformat() if until else None,
                )
            s.flush()
            return self._content_infos(s, bank.name, [row])[0]

    def change_head(self) -> int:
        """Id of the newest change-log row (0 when empty): moves whenever anything changes."""
        with self.db.transaction() as s:
            return s.scalar(select(func.max(Change.id))) or 0

    # -- helpers ---------------------------------------------------------------------------

    def _bank(self, s: Session, name: str, lock: Literal["update", "share"] | None = None) -> Bank:
        """The bank named `name`, or BankNotFound. In a change, `lock` holds its row until
        the commit: "update" to change or delete the bank itself, "share" to change its
        content (a delete or rename waits for it, or it finds the bank gone)."""
        q = select(Bank).where(Bank.name == name)
        if lock == "update":
            q = q.with_for_update()
        elif lock == "share":
            q = q.with_for_update(read=True, key_share=True)
        bank = s.scalar(q)
        if bank is None:
            raise BankNotFound(name)
        return bank

    def _log(
        self,
        s: Session,
        action: str,
        bank: Bank | None,
        content_id: int | None = None,
        **detail: object,
    ) -> None:
        s.add(
            Change(
                at=utcnow(),
                actor=self.actor,
                action=action,
                bank_id=bank.id if bank else None,
                bank_name=bank.name if bank else None,
                content_id=content_id,
                detail=detail,
            )
        )
        ids = {} if content_id is None else {"content_id": content_id}
        subject = f"bank:{bank.name}" if bank else ""
        audit(s, self.actor, action, subject, **ids, **detail)

    def _find_existing(self, s: Session, bank_id: int, signals: dict[str, str]) -> int | None:
        found = s.scalar(
            select(Content.id).where(
                Content.bank_id == bank_id, Content.dedupe_key == content_key(signals)
            )
        )
        if found is None and "sha256" not in signals and "md5" not in signals:
            # a listed hash already held by other content of this bank
            t, v = next(iter(signals.items()))
            found = s.scalar(
                select(ContentSignal.content_id)
                .where(
                    ContentSignal.bank_id == bank_id,
                    ContentSignal.signal_type == t,
                    ContentSignal.signal_value == stored_value(v),
                )
                .limit(1)
            )
        return found

    def _signal_counts(self, s: Session, bank_id: int | None) -> dict[int, dict[str, int]]:
        q = select(ContentSignal.bank_id, ContentSignal.signal_type, func.count()).group_by(
            ContentSignal.bank_id, ContentSignal.signal_type
        )
        if bank_id is not None:
            q = q.where(ContentSignal.bank_id == bank_id)
        out: dict[int, dict[str, int]] = {}
        for b, t, n in s.execute(q).all():
            out.setdefault(b, {})[t] = n
        return out

    def _info(
        self,
        s: Session,
        bank: Bank,
        count: int | None = None,
        signal_counts: dict[str, int] | None = None,
    ) -> BankInfo:
        if count is None:
            count = s.scalar(select(func.count()).where(Content.bank_id == bank.id)) or 0
        if signal_counts is None:
            signal_counts = self._signal_counts(s, bank.id).get(bank.id, {})
        return BankInfo(
            id=bank.id,
            name=bank.name,
            description=bank.description,
            thresholds=effective_thresholds(bank.thresholds),
            negative=bank.negative,
            enabled=bank.enabled,
            match_ratio=bank.match_ratio,
            dihedral=bank.dihedral,
            trim_borders=bank.trim_borders,
            local_features=bank.local_features,
            created_at=bank.created_at,
            created_by=bank.created_by,
            updated_at=bank.updated_at,
            content_count=count,
            signal_counts=dict(sorted(signal_counts.items())),
        )

    def _content_infos(
        self, s: Session, bank_name: str, rows: builtins.list[Content]
    ) -> builtins.list[ContentInfo]:
        if not rows:
            return []
        sigs: dict[int, dict[str, str]] = {}
        q = signal_rows().where(ContentSignal.content_id.in_([r.id for r in rows]))
        for _, cid, _, t, v in s.execute(q).all():
            sigs.setdefault(cid, {})[t] = v
        return [
            ContentInfo(
                id=r.id,
                bank=bank_name,
                signals=dict(sorted(sigs.get(r.id, {}).items())),
                source=r.source,
                external_id=r.external_id,
                note=r.note,
                tags=list(r.tags or []),
                added_at=r.added_at,
                added_by=r.added_by,
                disabled_until=r.disabled_until,
            )
            for r in rows
        ]
