"""Accounts and tokens: POST /auth/register, POST /auth/login, and the bearer-token check.

Passwords are hashed with Argon2id (argon2-cffi): the winner of the Password Hashing Competition
and OWASP's first choice; memory-hard, so GPU guessing costs far more than against PBKDF2.
Parameters are OWASP's minimum (19 MiB, 2 passes, 1 lane): a 0.25 vCPU / 512 MB task with
four request threads stays under 80 MB even when four logins hash at once; argon2-cffi's
default (64 MiB, 4 lanes) would need 256 MB for the same.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, Response, current_app, jsonify, request

from . import deadline
from .config import Settings
from .db import Database, DatabaseBusyError
from .errors import ApiError
from .validation import BIGINT_MAX, invalid, json_object, text

bp = Blueprint("auth", __name__, url_prefix="/auth")

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,64}")
_ID_RE = re.compile(r"[0-9]{1,19}")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
JWT_ALGORITHM = "HS256"

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# At most four hashes at once (4 x 19 MiB), however many request threads there are.
_HASH_SLOTS = threading.BoundedSemaphore(4)


@contextmanager
def _hash_slot() -> Iterator[None]:
    # Waiting is bounded by the request deadline; a flood of logins gets 503, not a stuck thread.
    if not _HASH_SLOTS.acquire(timeout=deadline.bounded(5.0)):
        raise DatabaseBusyError("every password-hashing slot is taken")
    try:
        yield
    finally:
        _HASH_SLOTS.release()


def _hashed(operation: Callable[[], str]) -> str:
    with _hash_slot():
        return operation()


@cache
def _dummy_hash() -> str:
    # Verifying against this when the user does not exist makes both failures take as long.
    return _hasher.hash("not-a-real-password-0000")


def _settings() -> Settings:
    settings: Settings = current_app.extensions["settings"]
    return settings


def _db() -> Database:
    db: Database = current_app.extensions["db"]
    return db


@bp.post("/register")
def register() -> tuple[Response, int]:
    """Create an account; usernames are unique regardless of letter case."""
    body = json_object({"username", "password"}, {"username", "password"})
    username = text(body, "username", 3, 64)
    if not USERNAME_RE.fullmatch(username):
        raise invalid("username must be 3 to 64 characters from A-Z, a-z, 0-9, '_', '.', '-'.")
    password = text(body, "password", PASSWORD_MIN, PASSWORD_MAX)
    password_hash = _hashed(lambda: _hasher.hash(password))
    with _db().connection() as conn:
        row = conn.execute(
            "INSERT INTO users (username, password_hash) VALUES (%s, %s) "
            "ON CONFLICT ((lower(username))) DO NOTHING RETURNING id",
            (username, password_hash),
        ).fetchone()
    if row is None:
        raise ApiError(409, "username_taken", "This username is already taken.")
    return jsonify(id=row[0], username=username), 201


@bp.post("/login")
def login() -> Response:
    """Exchange a username and password for a bearer token."""
    body = json_object({"username", "password"}, {"username", "password"})
    username = text(body, "username", 1, 64)
    password = text(body, "password", 1, PASSWORD_MAX)
    row = None
    if USERNAME_RE.fullmatch(username):
        with _db().connection() as conn:
            row = conn.execute(
                "SELECT id, password_hash FROM users WHERE lower(username) = lower(%s)", (username,)
            ).fetchone()
    user_id, stored_hash = (row[0], row[1]) if row else (None, _dummy_hash())
    try:
        with _hash_slot():
            _hasher.verify(stored_hash, password)
        verified = user_id is not None
    except (VerificationError, InvalidHashError):
        verified = False
    if not verified:
        raise ApiError(401, "invalid_credentials", "Invalid username or password.")
    if _hasher.check_needs_rehash(stored_hash):
        # Parameters were raised since this hash was made: store a stronger one.
        new_hash = _hashed(lambda: _hasher.hash(password))
        with _db().connection() as conn:
            conn.execute("UPDATE users SET password_hash = %s WHERE id = %s", (new_hash, user_id))
    settings = _settings()
    response = jsonify(
        access_token=issue_token(user_id, settings),  # type: ignore[arg-type]
        token_type="Bearer",  # noqa: S106 (the OAuth token type, not a secret)
        expires_in=settings.jwt_expires_seconds,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def issue_token(user_id: int, settings: Settings) -> str:
    """A signed HS256 JWT for the user, valid for JWT_EXPIRES_SECONDS."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": str(user_id), "iat": now, "exp": now + settings.jwt_expires_seconds}
    return jwt.encode(claims, settings.jwt_secret, algorithm=JWT_ALGORITHM)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="todos"'})


def current_user_id() -> int:
    """The user id from a valid, unexpired ``Authorization: Bearer <jwt>``; 401 otherwise."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("A bearer token is required (Authorization: Bearer <token>).")
    try:
        # Only HS256 is accepted: 'none', other HMAC sizes and public-key algorithms are refused.
        claims = jwt.decode(
            token,
            _settings().jwt_secret,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The token has expired; log in again.") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("The token is not valid.") from None
    subject = claims["sub"]
    if not (isinstance(subject, str) and _ID_RE.fullmatch(subject) and 0 < int(subject) <= BIGINT_MAX):
        raise _unauthorized("The token is not valid.")
    return int(subject)
