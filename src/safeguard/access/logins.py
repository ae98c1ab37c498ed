"""Moderators' logins: argon2 passwords, an optional TOTP second factor, sessions with an
idle timeout, and each user's own settings (docs/ui.md).

A session is a random token given to the browser once (as a cookie); the database keeps
its SHA-256 only, beside the session's CSRF token. Five failed logins in a row lock the
user for fifteen minutes; every login, failure, lock and logout is audited. The web UI is
one caller; `safeguard users password` and `safeguard users totp` are the others.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safeguard.access.people import Actor, UserInfo, _info
from safeguard.audit import record as audit
from safeguard.errors import AccessDenied, InvalidRequest, UserNotFound
from safeguard.store import Database
from safeguard.store.models import utcnow
from safeguard.store.review_tables import User
from safeguard.store.web_tables import UiSession

#: failed logins in a row that lock a user, and for how long
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
#: a session unused this long ends (SAFEGUARD_UI_IDLE_MINUTES), and every session ends
#: this long after login however busy
DEFAULT_IDLE = timedelta(minutes=30)
MAX_AGE = timedelta(hours=12)
#: a session's last use is written at most this often (a page view costs no write)
TOUCH_EVERY = timedelta(seconds=20)
MIN_PASSWORD = 12
ISSUER = "safeguard"

#: each user's own settings and their ranges
PREFERENCES = {"blur": (0, 40, 16)}  # name: (lowest, highest, default)

_hasher = PasswordHasher()


#: checked against when the user is unknown, so a wrong name takes as long as a wrong
#: password: an argon2 hash of a phrase no one uses, made once with `_hasher`'s parameters
#: (tests/web/test_logins_library.py checks they agree), so no process spends a deliberately
#: slow hash making it
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$Exj7A8u1hwtCsROX6tFIiQ"
    "$VmDto0uIQqGmX1F5tq7gFto3R4Fxtex+aaJ1ypmI2Fo"
)


_WRONG = "wrong user name, password or code"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class WebSession:
    """A live login: who, their CSRF token, the one evidence item revealed, their settings."""

    user: UserInfo
    csrf: str
    revealed: int | None
    preferences: dict[str, int] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        return self.user.actor()


@dataclass(frozen=True)
class Login:
    token: str  # for the browser's cookie; never stored
    session: WebSession


def preferences_of(row: User) -> dict[str, int]:
    saved = row.preferences or {}
    out = {}
    for name, (low, high, default) in PREFERENCES.items():
        value = saved.get(name, default)
        out[name] = value if isinstance(value, int) and low <= value <= high else default
    return out


class LoginService:
    """Passwords, second factors and sessions. `actor` is who changes a password or a
    second factor: an admin, or the user themself."""

    def __init__(
        self, db: Database, actor: Actor | None = None, *, idle: timedelta = DEFAULT_IDLE
    ) -> None:
        self.db = db
        self.actor = actor or Actor.service("web")
        self.idle = idle

    # --- credentials --------------------------------------------------------------

    def set_password(self, name: str, password: str) -> None:
        self._may_change(name, "set the password of")
        if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= 1024:
            raise InvalidRequest(f"a password is {MIN_PASSWORD} to 1024 characters")
        digest = _hasher.hash(password)
        with self.db.write_transaction() as s:
            row = _user(s, name)
            row.password_hash, row.failed_logins, row.locked_until = digest, 0, None
            audit(s, self.actor.name, "user.password", f"user:{name}")
            self._end_all(s, name, utcnow())

    def enable_totp(self, name: str) -> tuple[str, str]:
        """A new TOTP secret for `name` and its otpauth:// URI (for an authenticator app's
        QR code); from now on a login needs a code."""
        self._may_change(name, "set the second factor of")
        secret = pyotp.random_base32()
        with self.db.write_transaction() as s:
            row = _user(s, name)
            row.totp_secret = secret
            audit(s, self.actor.name, "user.totp", f"user:{name}", enabled=True)
        return secret, pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)

    def disable_totp(self, name: str) -> None:
        self._may_change(name, "remove the second factor of")
        with self.db.write_transaction() as s:
            row = _user(s, name)
            row.totp_secret = None
            audit(s, self.actor.name, "user.totp", f"user:{name}", enabled=False)

    def _may_change(self, name: str, what: str) -> None:
        self.actor.require(self.actor.is_admin or self.actor.user == name, f"{what} {name}")

    # --- logging in and out ---------------------------------------------------------

    def login(
        self,
        name: str,
        password: str,
        code: str = "",
        *,
        client: str = "",
        now: datetime | None = None,
    ) -> Login:
        """A new session, or AccessDenied naming no detail an attacker could use (a locked
        user is told it is locked, and until when)."""
        now = now or utcnow()
        with self.db.write_transaction() as s:
            # a refusal is committed (its audit entry, the failure count), then raised
            refused, login = self._try(s, name, password, code, client, now)
        if login is None:
            raise AccessDenied(refused)
        return login

    def _try(
        self, s: Session, name: str, password: str, code: str, client: str, now: datetime
    ) -> tuple[str, Login | None]:
        by, whom = f"web:{client[:100]}", f"user:{name[:100]}"
        row = s.scalar(select(User).where(User.name == name).with_for_update())
        if row is None or not row.password_hash or row.disabled_at is not None:
            _check(DUMMY_HASH, password)
            audit(s, by, "user.login_failed", whom, why="unknown")
            return _WRONG, None
        if row.locked_until is not None and row.locked_until > now:
            audit(s, by, "user.login_failed", whom, why="locked")
            return f"too many failed logins: locked until {row.locked_until:%H:%M} UTC", None
        ok = _check(row.password_hash, password)
        if ok and row.totp_secret:
            if not code.strip():
                audit(s, by, "user.login_failed", whom, why="no code")
                return "enter the code from your authenticator app", None
            ok = pyotp.TOTP(row.totp_secret).verify(code.strip(), valid_window=1)
        if not ok:
            row.failed_logins = (row.failed_logins or 0) + 1
            locked = row.failed_logins >= LOCK_AFTER
            if locked:
                row.locked_until, row.failed_logins = now + LOCK_FOR, 0
            audit(s, by, "user.login_failed", whom, why="wrong", locked=locked)
            return _WRONG, None
        row.failed_logins, row.locked_until = 0, None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        s.add(
            UiSession(
                token_sha256=token_digest(token),
                user_name=name,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                client=client[:200],
            )
        )
        audit(s, whom, "user.login", whom, client=client[:200])
        return "", Login(token, WebSession(_info(row), csrf, None, preferences_of(row)))

    def session(self, token: str, *, now: datetime | None = None) -> WebSession | None:
        """The live session of a cookie's token (its last use noted), or None: unknown,
        logged out, idle too long, too old, or its user disabled."""
        if not token or len(token) > 200:
            return None
        now = now or utcnow()
        digest = token_digest(token)
        with self.db.transaction() as s:
            found = s.execute(
                select(UiSession, User)
                .join(User, User.name == UiSession.user_name)
                .where(UiSession.token_sha256 == digest)
            ).first()
            if found is None:
                return None
            sess, user = found
            if (
                sess.ended_at is not None
                or user.disabled_at is not None
                or now - sess.last_seen_at > self.idle
                or now - sess.created_at > MAX_AGE
            ):
                return None
            live = WebSession(_info(user), sess.csrf_token, sess.revealed, preferences_of(user))
            stale = now - sess.last_seen_at > TOUCH_EVERY
        if stale:
            with self.db.write_transaction() as s:
                s.execute(
                    update(UiSession)
                    .where(UiSession.token_sha256 == digest)
                    .values(last_seen_at=now)
                )
        return live

    def logout(self, token: str) -> None:
        with self.db.write_transaction() as s:
            sess = s.get(UiSession, token_digest(token))
            if sess is not None and sess.ended_at is None:
                sess.ended_at = utcnow()
                audit(s, f"user:{sess.user_name}", "user.logout", f"user:{sess.user_name}")

    def reveal(self, token: str, evidence_id: int | None) -> None:
        """Note the one evidence item this session may see unblurred (None: none). Reading
        it is audited by the evidence store, with purpose "reveal"."""
        with self.db.write_transaction() as s:
            sess = s.get(UiSession, token_digest(token))
            if sess is not None:
                sess.revealed = evidence_id

    # --- one's own settings ---------------------------------------------------------

    def set_preference(self, name: str, key: str, value: int) -> dict[str, int]:
        self._may_change(name, "change the settings of")
        if key not in PREFERENCES:
            raise InvalidRequest(f"unknown setting {key!r}: use {', '.join(PREFERENCES)}")
        low, high, _ = PREFERENCES[key]
        if not isinstance(value, int) or not low <= value <= high:
            raise InvalidRequest(f"{key} is a whole number from {low} to {high}")
        with self.db.write_transaction() as s:
            row = _user(s, name)
            row.preferences = {**(row.preferences or {}), key: value}
            audit(s, self.actor.name, "user.preference", f"user:{name}", **{key: value})
            return preferences_of(row)

    @staticmethod
    def _end_all(s: Session, name: str, now: datetime) -> None:
        s.execute(
            update(UiSession)
            .where(UiSession.user_name == name, UiSession.ended_at.is_(None))
            .values(ended_at=now)
        )


def _check(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


def _user(s: Session, name: str) -> User:
    row = s.scalar(select(User).where(User.name == name).with_for_update())
    if row is None:
        raise UserNotFound(f"no user named {name!r} (see `safeguard users list`)")
    return row
