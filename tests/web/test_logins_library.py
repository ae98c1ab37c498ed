"""LoginService, the library under the login form: idle and absolute session limits, logout,
a password change or a disabled user ending sessions, the lock and its end, TOTP codes, and
who may change whose credentials. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from safeguard import Safeguard
from safeguard.access.logins import LOCK_AFTER, LOCK_FOR, MAX_AGE, LoginService
from safeguard.access.people import Actor, UserService
from safeguard.errors import AccessDenied, Forbidden, InvalidRequest
from safeguard.store.models import utcnow

PASSWORD = "a long enough password"
ADMIN = Actor.operator("test")


@pytest.fixture
def logins(sg: Safeguard) -> LoginService:
    UserService(sg.db, ADMIN).create("ann", ["moderator"])
    service = LoginService(sg.db, ADMIN, idle=timedelta(minutes=30))
    service.set_password("ann", PASSWORD)
    return service


def test_a_session_ends_when_idle_too_long_or_too_old(logins: LoginService) -> None:
    now = utcnow()
    token = logins.login("ann", PASSWORD, now=now).token
    assert logins.session(token, now=now + timedelta(minutes=29)) is not None
    # that use was noted, so the idle clock starts again from it
    assert logins.session(token, now=now + timedelta(minutes=58)) is not None
    assert logins.session(token, now=now + timedelta(minutes=58 + 31)) is None
    fresh = logins.login("ann", PASSWORD, now=now).token
    t = now
    while t + timedelta(minutes=20) < now + MAX_AGE:  # in use all along...
        t += timedelta(minutes=20)
        assert logins.session(fresh, now=t) is not None
    # ...and still ended once MAX_AGE has passed since the login
    assert logins.session(fresh, now=now + MAX_AGE + timedelta(minutes=1)) is None


def test_logout_and_a_new_password_end_sessions(logins: LoginService) -> None:
    a = logins.login("ann", PASSWORD).token
    b = logins.login("ann", PASSWORD).token
    logins.logout(a)
    assert logins.session(a) is None and logins.session(b) is not None
    logins.set_password("ann", "another long password")
    assert logins.session(b) is None
    with pytest.raises(AccessDenied):
        logins.login("ann", PASSWORD)
    assert logins.login("ann", "another long password").session.user.name == "ann"


def test_a_disabled_user_loses_their_session_and_cannot_log_in(
    sg: Safeguard, logins: LoginService
) -> None:
    token = logins.login("ann", PASSWORD).token
    UserService(sg.db, ADMIN).disable("ann")
    assert logins.session(token) is None
    with pytest.raises(AccessDenied, match="wrong user name, password or code"):
        logins.login("ann", PASSWORD)


def test_the_lock_after_failures_ends_after_its_time(logins: LoginService) -> None:
    now = utcnow()
    for _ in range(LOCK_AFTER):
        with pytest.raises(AccessDenied, match="wrong"):
            logins.login("ann", "not the password at all", now=now)
    with pytest.raises(AccessDenied, match="locked until"):
        logins.login("ann", PASSWORD, now=now)
    later = now + LOCK_FOR + timedelta(seconds=1)
    assert logins.login("ann", PASSWORD, now=later).session.user.name == "ann"


def test_a_totp_code_is_checked(logins: LoginService) -> None:
    secret, uri = logins.enable_totp("ann")
    assert uri.startswith("otpauth://totp/") and secret in uri
    with pytest.raises(AccessDenied, match="authenticator"):
        logins.login("ann", PASSWORD)
    with pytest.raises(AccessDenied, match="wrong"):
        logins.login("ann", PASSWORD, "123456" if pyotp.TOTP(secret).now() != "123456" else "1")
    assert logins.login("ann", PASSWORD, pyotp.TOTP(secret).now()).token
    logins.disable_totp("ann")
    assert logins.login("ann", PASSWORD).token


def test_only_an_admin_or_the_user_changes_credentials(sg: Safeguard, logins: LoginService) -> None:
    UserService(sg.db, ADMIN).create("bob", ["moderator"])
    ann = Actor("user:ann", frozenset({"moderator"}), user="ann")
    as_ann = LoginService(sg.db, ann)
    as_ann.set_password("ann", "ann's own new password")
    with pytest.raises(Forbidden):
        as_ann.set_password("bob", "a password for bob here")
    with pytest.raises(Forbidden):
        as_ann.enable_totp("bob")
    with pytest.raises(InvalidRequest, match="12 to 1024"):
        as_ann.set_password("ann", "short")
    with pytest.raises(InvalidRequest, match="from 0 to 40"):
        as_ann.set_preference("ann", "blur", 99)
    assert as_ann.set_preference("ann", "blur", 4) == {"blur": 4}


def test_an_unknown_name_is_checked_against_a_hash_as_costly_as_a_real_one() -> None:
    from argon2 import extract_parameters

    from safeguard.access.logins import DUMMY_HASH, _hasher

    real = _hasher.hash(PASSWORD)
    assert extract_parameters(DUMMY_HASH) == extract_parameters(real)
    assert not _hasher.check_needs_rehash(DUMMY_HASH)
