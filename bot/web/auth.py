"""Who is logged in: argon2 password hashes, server-side sessions, CSRF tokens, throttling.

The session cookie holds a random token; the database keeps only its SHA-256 (storage/console.py),
so a stolen database copy opens no session. Each session has its own CSRF token, which every form
carries in a hidden `csrf` field; the login form, before any session, uses a double-submit cookie.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import aiosqlite
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from storage import console as store

from ..config import WebSettings

__all__ = ["LoginResult", "Passwords", "new_token", "token_hash", "tokens_match"]

SESSION_COOKIE = "dt_session"
LOGIN_CSRF_COOKIE = "dt_login_csrf"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(given: str | None, expected: str) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(
        str(given).encode(), expected.encode())


@dataclass(frozen=True)
class Passwords:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile); tests may lower them."""

    hasher: PasswordHasher = field(default_factory=PasswordHasher)

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        try:
            return self.hasher.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        return self.hasher.check_needs_rehash(encoded)


# A hash of nothing anyone knows: an unknown login costs as much time as a wrong password, so
# timing does not tell which logins exist.
_DUMMY = PasswordHasher().hash(secrets.token_hex(16))


@dataclass(frozen=True)
class LoginResult:
    session_token: str = ""
    account: store.Account | None = None
    throttled: bool = False


async def log_in(conn: aiosqlite.Connection, passwords: Passwords, web: WebSettings,
                 login: str, password: str, address: str, *, now: dt.datetime) -> LoginResult:
    """Check throttling, then the password; on success a new session (its token returned)."""
    window = now - dt.timedelta(minutes=web.lock_minutes)
    account_key, address_key = f"login:{login.lower()}", f"addr:{address}"
    if (await store.login_failures_since(conn, account_key, window) >= web.login_max_failures
            or await store.login_failures_since(conn, address_key, window)
            >= web.address_max_failures):
        return LoginResult(throttled=True)
    account = await store.account_by_login(conn, login)
    ok = passwords.verify(account.password_hash if account else _DUMMY, password)
    if account is None or not ok or not account.active:
        await store.record_login_failure(conn, account_key, now=now)
        await store.record_login_failure(conn, address_key, now=now)
        return LoginResult(account=account if account and account.active else None)
    if passwords.needs_rehash(account.password_hash):
        await store.set_password_hash(conn, account.id, passwords.hash(password))
    await store.clear_login_failures(conn, account_key, before=window)
    token = new_token()
    await store.create_session(
        conn, token_hash(token), account.id, new_token(), now=now,
        expires_at=now + dt.timedelta(hours=web.session_max_hours))
    return LoginResult(session_token=token, account=account)
