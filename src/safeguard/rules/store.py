"""Versioned rule sets in the database: validate against the store's banks, apply (admin
only, audited, atomic: on any problem the old set stays active), the active set (cached,
re-read only when another version became active), history, and the record of the rules
that fired on each event (live and shadow), which `report` summarises.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.errors import Conflict, InvalidRequest, NotFound
from safeguard.rules.default import DEFAULT_TEXT, default_rules
from safeguard.rules.evaluate import RuleSet
from safeguard.rules.model import Evaluation
from safeguard.rules.parse import parse_rules
from safeguard.rules.report import RuleReport, rule_report
from safeguard.rules.shadow import with_shadow
from safeguard.store import Database
from safeguard.store.driver import DriverStatement
from safeguard.store.models import Bank
from safeguard.store.rules_tables import RuleHit as RuleHitRow
from safeguard.store.rules_tables import RuleSetVersion

#: serialises applies on PostgreSQL ("sgrules" in ASCII)
_LOCK_KEY = 0x736772756C6573
#: a change made from one version when another is active by the time it is applied
_CHANGED = (
    "the rule set changed: version {active} is active now, not {seen}; "
    "look at it again and switch there"
)
#: parsed stored versions by (version, sha256), shared by every RuleStore of the process
_PARSED: dict[tuple[int, str], RuleSet] = {}
_PARSED_LIMIT = 64


@dataclass(frozen=True)
class RuleSetInfo:
    """One version of the rule set. Version 0 is the built-in default (never stored)."""

    version: int
    applied_at: datetime | None
    applied_by: str
    sha256: str
    active: bool
    rules: tuple[str, ...]
    shadow: tuple[str, ...]

    @property
    def built_in(self) -> bool:
        return self.version == 0

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "built_in": self.built_in,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "applied_by": self.applied_by,
            "sha256": self.sha256,
            "active": self.active,
            "rules": list(self.rules),
            "shadow": list(self.shadow),
        }


def sha256_of(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


class RuleStore:
    """The rule sets of one store, for one caller (`actor`)."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    # -- the active set (inline, every batch of events) ------------------------------------

    def active(self) -> RuleSet:
        """The newest applied rule set, or the built-in default when none was applied."""
        with self.db.transaction() as s:
            row = s.execute(
                select(RuleSetVersion.version, RuleSetVersion.sha256).where(
                    RuleSetVersion.active.is_(True)
                )
            ).first()
            if row is None:
                return default_rules()
            key = (row.version, row.sha256)
            found = _PARSED.get(key)
            if found is not None:
                return found
            stored = s.scalar(select(RuleSetVersion.text).where(RuleSetVersion.version == key[0]))
        return _parsed(key[0], key[1], stored or "")

    # -- changing it -----------------------------------------------------------------------

    def validate(self, text_: str, source: str) -> RuleSet:
        """The rule set in `text_`, checked against this store's banks; RulesInvalid lists
        every problem."""
        with self.db.transaction() as s:
            return parse_rules(text_, source=source, banks=_banks(s))

    def apply(self, text_: str, source: str, *, replaces: int | None = None) -> RuleSet:
        """Validate `text_` and make it the active rule set, as a new version (admin only).
        On any problem nothing changes and the active set stays. `replaces`: the version
        the text was made from (0: the default); Conflict, in the same transaction, when
        another one is active by then, so a change made from an old version never undoes
        a newer one."""
        self.actor.require_admin("apply rule sets")
        digest = sha256_of(text_)
        try:
            with self.db.write_transaction() as s:
                if s.get_bind().dialect.name == "postgresql":
                    s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                if replaces is not None:
                    active = s.scalar(
                        select(RuleSetVersion.version).where(RuleSetVersion.active.is_(True))
                    )
                    if (active or 0) != replaces:
                        raise Conflict(_CHANGED.format(active=active or 0, seen=replaces))
                version = (s.scalar(select(func.max(RuleSetVersion.version))) or 0) + 1
                ruleset = parse_rules(text_, source=source, banks=_banks(s), version=version)
                s.execute(
                    update(RuleSetVersion)
                    .where(RuleSetVersion.active.is_(True))
                    .values(active=False)
                )
                s.add(
                    RuleSetVersion(
                        version=version,
                        text=text_,
                        sha256=digest,
                        active=True,
                        applied_by=self.actor.name,
                    )
                )
                s.flush()
                audit(
                    s,
                    self.actor.name,
                    "rules.apply",
                    f"rules:v{version}",
                    version=version,
                    sha256=digest,
                    source=source,
                    rules=list(ruleset.names),
                    shadow=list(ruleset.shadow_names),
                )
        except IntegrityError:
            raise Conflict("another rule set was applied at the same moment; try again") from None
        _remember((version, digest), ruleset)
        return ruleset

    def set_shadow(self, rule: str, shadow: bool, *, seen: int | None = None) -> RuleSet:
        """Apply, as a new version, the active rule set with only `rule` switched to shadow
        mode (`shadow=True`) or live (admin only; the YAML keeps its comments and layout:
        `rules.shadow.with_shadow`). `seen`: the version the caller looked at; Conflict when
        another one is active now."""
        self.actor.require_admin("switch rules between live and shadow mode")
        info, current = self.get()
        if seen is not None and info.version != seen:
            raise Conflict(_CHANGED.format(active=info.version, seen=seen))
        changed = with_shadow(current, rule, shadow)
        if changed == current:
            raise InvalidRequest(
                f"rule {rule!r} is already {'in shadow mode' if shadow else 'live'}"
            )
        mode = "shadow mode" if shadow else "live"
        source = f"version {info.version} with rule {rule} {mode}"
        return self.apply(changed, source, replaces=info.version)

    # -- reading ---------------------------------------------------------------------------

    def history(self) -> list[RuleSetInfo]:
        """Every applied version, newest first, then the built-in default (version 0)."""
        self._require_reader()
        with self.db.transaction() as s:
            rows = s.scalars(select(RuleSetVersion).order_by(RuleSetVersion.version.desc())).all()
        infos = [_info(r) for r in rows]
        return [*infos, _default_info(active=not any(i.active for i in infos))]

    def get(self, version: int | None = None) -> tuple[RuleSetInfo, str]:
        """A version's description and YAML text (None: the active one; 0: the default)."""
        self._require_reader()
        with self.db.transaction() as s:
            q = select(RuleSetVersion)
            if version is None:
                row = s.scalar(q.where(RuleSetVersion.active.is_(True)))
            elif version == 0:
                row = None
            else:
                row = s.scalar(q.where(RuleSetVersion.version == version))
                if row is None:
                    raise NotFound(f"no rule set version {version} (see `safeguard rules history`)")
            if row is None:
                applied = s.scalar(
                    select(func.count())
                    .select_from(RuleSetVersion)
                    .where(RuleSetVersion.active.is_(True))
                )
                return _default_info(active=not applied), DEFAULT_TEXT
            return _info(row), row.text

    def report(self, since: datetime, until: datetime | None = None) -> list[RuleReport]:
        """How each rule (live and shadow) did between `since` and `until`."""
        self._require_reader()
        if until is not None and until <= since:
            raise InvalidRequest("the report's end must come after its start")
        with self.db.transaction() as s:
            return rule_report(s, since, until)

    # -- the record of hits (in the caller's transaction) ----------------------------------

    def _require_reader(self) -> None:
        self.actor.require(bool(self.actor.roles), "read rule sets")


def _banks(s: Session) -> dict[str, bool]:
    return {name: bool(negative) for name, negative in s.execute(select(Bank.name, Bank.negative))}


def _parsed(version: int, digest: str, text_: str) -> RuleSet:
    """A stored version, parsed once per process. Checked without the store's banks: a bank
    removed since it was applied only means its conditions no longer match."""
    key = (version, digest)
    found = _PARSED.get(key)
    if found is None:
        found = parse_rules(text_, source=f"rule set version {version}", version=version)
        _remember(key, found)
    return found


def _remember(key: tuple[int, str], ruleset: RuleSet) -> None:
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[key] = ruleset


def _info(row: RuleSetVersion) -> RuleSetInfo:
    ruleset = _parsed(row.version, row.sha256, row.text)
    return RuleSetInfo(
        version=row.version,
        applied_at=row.applied_at,
        applied_by=row.applied_by,
        sha256=row.sha256,
        active=bool(row.active),
        rules=ruleset.names,
        shadow=ruleset.shadow_names,
    )


def _default_info(*, active: bool) -> RuleSetInfo:
    ruleset = default_rules()
    return RuleSetInfo(
        version=0,
        applied_at=None,
        applied_by="built-in",
        sha256=sha256_of(DEFAULT_TEXT),
        active=active,
        rules=ruleset.names,
        shadow=ruleset.shadow_names,
    )


def hit_rows(
    event_id: int, account_id: str, rule_set: RuleSet, evaluation: Evaluation, at: datetime
) -> list[dict[str, object]]:
    """The `rule_hits` rows of one event: every live and shadow rule that fired on it."""
    return [
        {
            "event_id": event_id,
            "account_id": account_id,
            "rule_set": rule_set.version,
            "rule": hit.rule,
            "shadow": hit.shadow,
            "verdict": hit.verdict or "",
            "at": at,
        }
        for hit in (*evaluation.live, *evaluation.shadow)
    ]


_NEW_HITS = DriverStatement(insert(RuleHitRow))  # the verdict path's: store/driver.py


def insert_hits(session: Connection | Session, rows: list[dict[str, object]]) -> None:
    """Insert `hit_rows` (of one event or many) in the caller's transaction, one statement."""
    _NEW_HITS.many(session, rows)
