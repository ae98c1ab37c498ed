"""People and roles: who may see and decide what (docs/moderation.md).

Roles:
  moderator      reviews and decides cases that are not child-safety cases
  child_safety   a child-safety specialist: also child-safety cases, their media and evidence
  admin          everything, including rules, users, webhooks and the audit log
  auditor        reads the audit log and nothing else

An `Actor` is whoever a library call acts for: a user (through the CLI's `--user`, an API
key made for that user, or a web session), a service key with no user (it may submit events
and read verdicts, no case data), or the operator of the CLI (whoever can open the
database can do anything, so the CLI with no `--user` acts with every role). The checks
live here and in the services that call them, so the API, the CLI and the web UI cannot
differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.audit import record as audit
from safeguard.errors import AlreadyExists, Forbidden, InvalidRequest, UserNotFound
from safeguard.store import Database
from safeguard.store.models import utcnow
from safeguard.store.review_tables import User

ROLES = ("moderator", "child_safety", "admin", "auditor")
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@\-]{0,99}")


@dataclass(frozen=True)
class Actor:
    """Who a call acts for, and with which roles."""

    name: str  # as recorded in the audit log: "user:alice", "key:ingest", "cli:root"
    roles: frozenset[str]
    user: str | None = None  # the user's name, when a user

    @classmethod
    def operator(cls, name: str) -> Actor:
        """The CLI's operator, who holds the database: every role but auditor's limits."""
        return cls(name, frozenset({"moderator", "child_safety", "admin"}))

    @classmethod
    def service(cls, name: str) -> Actor:
        """A service (an API key for no user): submits events, sees no case data."""
        return cls(name, frozenset())

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def may_see_case(self, child_safety: bool) -> bool:
        """Child-safety cases: specialists and admins; other cases: moderators too."""
        if self.is_admin or "child_safety" in self.roles:
            return True
        return not child_safety and "moderator" in self.roles

    def may_submit_events(self) -> bool:
        """Anyone but an auditor (who reads the audit log and nothing else); a service key
        for no user submits events."""
        return not self.roles or bool(self.roles - {"auditor"})

    def may_read_audit(self) -> bool:
        return self.is_admin or "auditor" in self.roles

    def require(self, allowed: bool, what: str) -> None:
        """Raise Forbidden (HTTP 403) naming `what` when not `allowed`."""
        if not allowed:
            roles = ", ".join(sorted(self.roles)) or "no role"
            raise Forbidden(f"{self.name} ({roles}) may not {what}")

    def require_admin(self, what: str) -> None:
        self.require(self.is_admin, what)


@dataclass(frozen=True)
class UserInfo:
    name: str
    display_name: str
    roles: tuple[str, ...]
    created_at: datetime
    created_by: str
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def actor(self) -> Actor:
        roles = frozenset(self.roles) if self.active else frozenset()
        return Actor(f"user:{self.name}", roles, user=self.name)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "roles": list(self.roles),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
        }


def check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    clean = {r.strip().lower().replace("-", "_") for r in roles if r.strip()}
    unknown = sorted(clean - set(ROLES))
    if unknown:
        raise InvalidRequest(f"unknown role {unknown[0]!r}: use {', '.join(ROLES)}")
    if not clean:
        raise InvalidRequest(f"a user needs at least one role: {', '.join(ROLES)}")
    return tuple(r for r in ROLES if r in clean)


class UserService:
    """Users and their roles. Only admins change them; every change is audited."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def create(self, name: str, roles: Iterable[str], *, display_name: str = "") -> UserInfo:
        self.actor.require_admin("manage users")
        if not isinstance(name, str) or not USER_NAME.fullmatch(name):
            raise InvalidRequest(
                f"invalid user name {name!r}: use 1-100 letters, digits, '_', '-', '.' or '@'"
            )
        clean = check_roles(roles)
        if len(display_name) > 200 or not display_name.isprintable():
            raise InvalidRequest("a display name is at most 200 printable characters")
        try:
            with self.db.write_transaction() as s:
                if s.scalar(select(User.id).where(User.name == name)) is not None:
                    raise AlreadyExists(f"a user named {name!r} already exists")
                row = User(
                    name=name,
                    display_name=display_name,
                    roles=list(clean),
                    created_at=utcnow(),
                    created_by=self.actor.name,
                )
                s.add(row)
                s.flush()
                audit(s, self.actor.name, "user.create", f"user:{name}", roles=list(clean))
                return _info(row)
        except IntegrityError:
            raise AlreadyExists(f"a user named {name!r} already exists") from None

    def set_roles(self, name: str, roles: Iterable[str]) -> UserInfo:
        self.actor.require_admin("manage users")
        clean = check_roles(roles)
        with self.db.write_transaction() as s:
            row = self._row(s, name)
            before = list(row.roles or [])
            row.roles = list(clean)
            audit(s, self.actor.name, "user.roles", f"user:{name}", before=before, after=row.roles)
            return _info(row)

    def disable(self, name: str) -> UserInfo:
        self.actor.require_admin("manage users")
        with self.db.write_transaction() as s:
            row = self._row(s, name)
            if row.disabled_at is None:
                row.disabled_at = utcnow()
                audit(s, self.actor.name, "user.disable", f"user:{name}")
            return _info(row)

    def get(self, name: str) -> UserInfo:
        with self.db.transaction() as s:
            return _info(self._row(s, name))

    def list(self) -> list[UserInfo]:
        self.actor.require_admin("list users")
        with self.db.transaction() as s:
            return [_info(r) for r in s.scalars(select(User).order_by(User.name))]

    @staticmethod
    def _row(s: Session, name: str) -> User:
        row = s.scalar(select(User).where(User.name == name).with_for_update())
        if row is None:
            raise UserNotFound(f"no user named {name!r} (see `safeguard users list`)")
        return row


def actor_for_user(db: Database, name: str) -> Actor:
    """The Actor of a user by name (UserNotFound if none; a disabled user has no roles)."""
    with db.transaction() as s:
        row = s.scalar(select(User).where(User.name == name))
        if row is None:
            raise UserNotFound(f"no user named {name!r} (see `safeguard users list`)")
        return _info(row).actor()


def _info(row: User) -> UserInfo:
    return UserInfo(
        name=row.name,
        display_name=row.display_name or "",
        roles=tuple(row.roles or ()),
        created_at=row.created_at,
        created_by=row.created_by,
        disabled_at=row.disabled_at,
    )
