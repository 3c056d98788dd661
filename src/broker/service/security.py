"""Secrets: API tokens, password hashes, signed session cookies and CSRF tokens.

- An API token is 32 random bytes (URL-safe text). Only its SHA-256 is stored:
  the token has 256 bits of entropy, so a fast hash is enough and a leaked table
  gives nothing away.
- A page password is hashed with argon2id (:mod:`argon2`, argon2-cffi's defaults).
- A session cookie holds the user's id and a CSRF token, signed and dated with
  :mod:`itsdangerous`; it expires after :data:`SESSION_MAX_AGE_S`.
- Every form carries the session's CSRF token (or, before sign-in, one from a
  signed cookie); a form post without the right one is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "broker_session"
LOGIN_CSRF_COOKIE = "broker_login_csrf"
SESSION_MAX_AGE_S = 8 * 3600
TOKEN_BYTES = 32

_HASHER = PasswordHasher()


def new_token() -> str:
    """A new random API token (shown once, never stored)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """The SHA-256 (hex) of a token: what the users table stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (``False`` if none is stored)."""
    if not stored:
        return False
    try:
        return bool(_HASHER.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two optional strings."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class Signer:
    """Signs and checks session and login cookies with the service's secret."""

    secret: str

    def _serializer(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=salt)

    def session(self, user_id: int) -> tuple[str, str]:
        """A signed session cookie for ``user_id`` and its CSRF token."""
        csrf = secrets.token_urlsafe(24)
        return self._serializer("session").dumps({"uid": user_id, "csrf": csrf}), csrf

    def read_session(self, cookie: str | None) -> dict[str, Any] | None:
        """The session's ``{"uid", "csrf"}``, or ``None`` if missing, forged or expired."""
        if not cookie:
            return None
        try:
            data = self._serializer("session").loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
            return None
        return data

    def login_csrf(self) -> tuple[str, str]:
        """A CSRF token for the sign-in form and the signed cookie that vouches for it."""
        token = secrets.token_urlsafe(24)
        return self._serializer("login").dumps(token), token

    def read_login_csrf(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            value = self._serializer("login").loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None
