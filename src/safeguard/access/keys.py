"""API keys: created once (the secret is shown then and never again), stored as a SHA-256.

A key looks like `sgk_<12 hex>_<secret>`. The 12 hex characters are its public prefix, used
to find the row and shown in listings; only the SHA-256 of the whole key is stored, compared
in constant time. Keys are revoked, never deleted, so the audit trail keeps their names.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.audit import record as audit
from safeguard.errors import AccessDenied, InvalidRequest, KeyNotFound, UserNotFound
from safeguard.store import Database
from safeguard.store.models import ApiKey, Change, utcnow
from safeguard.store.review_tables import User

#: what a key may be allowed to do; routes are grouped by these (see docs/api.md)
SCOPES = ("hash", "match", "curate", "events", "review", "audit", "admin", "exchange")

#: whole names and tokens only (used with fullmatch: `$` would also take a final newline)
KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
#: the largest per-key rate limit a key may be given (it fits every store's integer column)
MAX_RATE_LIMIT = 1_000_000_000
_TOKEN = re.compile(r"sgk_([0-9a-f]{12})_([A-Za-z0-9_\-]{20,100})")


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    rate_limit: int | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    #: the user this key acts for, and that user's roles when the key was verified
    user_name: str | None = None
    user_roles: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "prefix": self.prefix,
            "scopes": list(self.scopes),
            "rate_limit": self.rate_limit,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "user": self.user_name,
        }


@dataclass(frozen=True)
class NewKey:
    info: ApiKeyInfo
    token: str  # shown once


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    clean = tuple(dict.fromkeys(s.strip().lower() for s in scopes if s.strip()))
    if not clean:
        raise InvalidRequest(f"a key needs at least one scope: {', '.join(SCOPES)}")
    unknown = [s for s in clean if s not in SCOPES]
    if unknown:
        raise InvalidRequest(f"unknown scope {unknown[0]!r}: use {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in clean)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class KeyService:
    def __init__(self, db: Database, actor: str) -> None:
        self.db = db
        self.actor = actor

    def create(
        self,
        name: str,
        scopes: Iterable[str],
        *,
        rate_limit: int | None = None,
        user: str | None = None,
    ) -> NewKey:
        """Create a key with `scopes`; `user` makes it act for that user (with the user's
        roles: what it may see of cases and the audit log)."""
        if not isinstance(name, str) or not KEY_NAME.fullmatch(name):
            raise InvalidRequest(
                f"invalid key name {name!r}: use 1-100 letters, digits, '_', '-' or '.'"
            )
        clean = check_scopes(scopes)
        if rate_limit is not None and (
            isinstance(rate_limit, bool) or not 1 <= rate_limit <= MAX_RATE_LIMIT
        ):
            raise InvalidRequest(
                f"rate limit must be a whole number from 1 to {MAX_RATE_LIMIT:,}, "
                f"got {rate_limit!r}"
            )
        prefix = secrets.token_hex(6)
        token = f"sgk_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with self.db.write_transaction() as s:
                if s.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
                    raise InvalidRequest(f"a key named {name!r} already exists")
                if user is not None and s.scalar(select(User.id).where(User.name == user)) is None:
                    raise UserNotFound(f"no user named {user!r} (see `safeguard users list`)")
                row = ApiKey(
                    name=name,
                    prefix=prefix,
                    secret_sha256=_digest(token),
                    scopes=list(clean),
                    rate_limit=rate_limit,
                    created_at=utcnow(),
                    created_by=self.actor,
                    user_name=user,
                )
                s.add(row)
                s.flush()
                self._log(
                    s, "key.create", name, scopes=list(clean), rate_limit=rate_limit, user=user
                )
                return NewKey(_info(row), token)
        except IntegrityError:
            raise InvalidRequest(f"a key named {name!r} already exists") from None

    def list(self, *, include_revoked: bool = False) -> list[ApiKeyInfo]:
        with self.db.transaction() as s:
            q = select(ApiKey).order_by(ApiKey.name)
            if not include_revoked:
                q = q.where(ApiKey.revoked_at.is_(None))
            return [_info(r) for r in s.scalars(q)]

    def revoke(self, name: str) -> ApiKeyInfo:
        """Revoke a key (revoking it again changes nothing and records nothing). Its row is
        locked first, so two revocations at once record one."""
        with self.db.write_transaction() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.name == name).with_for_update())
            if row is None:
                raise KeyNotFound(f"no API key named {name!r} (see `safeguard keys list`)")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                self._log(s, "key.revoke", name)
            return _info(row)

    def verify(self, token: str) -> ApiKeyInfo:
        """The active key this token belongs to; AccessDenied otherwise (never says why in
        more detail than 'unknown or revoked', so keys cannot be probed)."""
        m = _TOKEN.fullmatch(token or "")
        if m is None:
            raise AccessDenied("malformed API key: expected sgk_<prefix>_<secret>")
        with self.db.transaction() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.prefix == m.group(1)))
            ok = row is not None and hmac.compare_digest(row.secret_sha256, _digest(token))
            if not ok or row is None or row.revoked_at is not None:
                raise AccessDenied("unknown or revoked API key")
            roles: tuple[str, ...] = ()
            if row.user_name is not None:
                user = s.scalar(select(User).where(User.name == row.user_name))
                if user is not None and user.disabled_at is None:
                    roles = tuple(user.roles or ())
            return _info(row, roles)

    def _log(self, s: Session, action: str, name: str, **detail: object) -> None:
        s.add(Change(at=utcnow(), actor=self.actor, action=action, detail={"key": name, **detail}))
        audit(s, self.actor, action, f"key:{name}", **detail)


def _info(row: ApiKey, user_roles: tuple[str, ...] = ()) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(row.scopes or ()),
        rate_limit=row.rate_limit,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        user_name=row.user_name,
        user_roles=user_roles,
    )
