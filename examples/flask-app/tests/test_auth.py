"""POST /auth/register, POST /auth/login and the bearer-token check on /todos."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
from flask.testing import FlaskClient

from app import create_app

from .conftest import JWT_SECRET, PASSWORD, User, assert_error, make_settings, new_user
from .pgcluster import PgServer


def _name(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- register -----------------------------------------------------------------------------


def test_register_creates_an_account(client: FlaskClient) -> None:
    username = _name()
    response = client.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == username and isinstance(body["id"], int) and body["id"] > 0


def test_register_stores_an_argon2id_hash_not_the_password(client: FlaskClient, pg: PgServer, shared_db: str) -> None:
    username = _name()
    client.post("/auth/register", json={"username": username, "password": PASSWORD})
    with pg.connect(shared_db) as conn:
        row = conn.execute("SELECT password_hash FROM users WHERE username = %s", (username,)).fetchone()
    assert row is not None
    assert row[0].startswith("$argon2id$") and PASSWORD not in row[0]


def test_register_twice_is_409(client: FlaskClient) -> None:
    username = _name()
    assert client.post("/auth/register", json={"username": username, "password": PASSWORD}).status_code == 201
    response = client.post("/auth/register", json={"username": username, "password": "another-password"})
    assert_error(response, 409, "username_taken")


def test_usernames_differing_only_in_case_are_the_same(client: FlaskClient) -> None:
    username = _name("Carol")
    client.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert_error(client.post("/auth/register", json={"username": username.upper(), "password": PASSWORD}), 409)


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "password": PASSWORD},
        {"username": "a" * 65, "password": PASSWORD},
        {"username": "has space", "password": PASSWORD},
        {"username": "émile", "password": PASSWORD},
        {"username": "nul\x00byte", "password": PASSWORD},
        {"username": "valid_name", "password": "short"},
        {"username": "valid_name", "password": "p" * 129},
        {"username": "valid_name", "password": "has\x00nul-byte"},
        {"username": "valid_name", "password": 12345678},
        {"username": ["list"], "password": PASSWORD},
        {"username": "valid_name"},
        {"password": PASSWORD},
        {"username": "valid_name", "password": PASSWORD, "admin": True},
    ],
    ids=[
        "username-too-short",
        "username-too-long",
        "username-space",
        "username-non-ascii",
        "username-nul",
        "password-too-short",
        "password-too-long",
        "password-nul",
        "password-not-string",
        "username-not-string",
        "password-missing",
        "username-missing",
        "unknown-field",
    ],
)
def test_register_rejects_weak_or_malformed_input_with_400(client: FlaskClient, body: dict[str, object]) -> None:
    assert_error(client.post("/auth/register", json=body), 400, "invalid_request")


def test_register_accepts_the_boundary_lengths(client: FlaskClient) -> None:
    username = _name("b")[:3] + "." + "-" * 59 + "_"  # 64 characters
    response = client.post("/auth/register", json={"username": username, "password": "p" * 8})
    assert response.status_code == 201, response.get_json()


# --- login --------------------------------------------------------------------------------


def test_login_returns_a_bearer_token(client: FlaskClient) -> None:
    user = new_user(client)
    response = client.post("/auth/login", json={"username": user.username, "password": PASSWORD})
    body = response.get_json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert response.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(user.id)
    assert claims["exp"] - claims["iat"] == 3600


def test_login_ignores_the_username_case(client: FlaskClient) -> None:
    user = new_user(client)
    response = client.post("/auth/login", json={"username": user.username.upper(), "password": PASSWORD})
    assert response.status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_401(client: FlaskClient) -> None:
    user = new_user(client)
    wrong_password = client.post("/auth/login", json={"username": user.username, "password": "not-the-password"})
    unknown_user = client.post("/auth/login", json={"username": _name(), "password": PASSWORD})
    impossible_name = client.post("/auth/login", json={"username": "no such user!", "password": PASSWORD})
    errors = [assert_error(r, 401, "invalid_credentials") for r in (wrong_password, unknown_user, impossible_name)]
    assert errors[0] == errors[1] == errors[2]


@pytest.mark.parametrize(
    "body",
    [{"username": "x"}, {"username": "x", "password": ""}, {"username": 1, "password": "x"}, {"u": 1}],
    ids=["password-missing", "password-empty", "username-not-string", "unknown-field"],
)
def test_login_rejects_malformed_input_with_400(client: FlaskClient, body: dict[str, object]) -> None:
    assert_error(client.post("/auth/login", json=body), 400, "invalid_request")


# --- bearer tokens ------------------------------------------------------------------------


def test_todos_without_a_token_is_401(client: FlaskClient) -> None:
    response = client.get("/todos")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer not.a.jwt", "Token abc", "Bearer a.b.c"]
)
def test_a_malformed_authorization_header_is_401(client: FlaskClient, header: str) -> None:
    assert_error(client.get("/todos", headers={"Authorization": header}), 401, "unauthorized")


def test_the_scheme_name_is_case_insensitive(client: FlaskClient, alice: User) -> None:
    assert client.get("/todos", headers={"Authorization": f"bearer {alice.token}"}).status_code == 200


def test_a_token_expires(pg: PgServer, shared_db: str) -> None:
    app = create_app(make_settings(pg, shared_db, jwt_expires_seconds=1))
    try:
        client = app.test_client()
        user = new_user(client)
        assert client.get("/todos", headers=user.headers).status_code == 200
        time.sleep(2.1)
        error = assert_error(client.get("/todos", headers=user.headers), 401, "unauthorized")
        assert "expired" in error["message"]
    finally:
        app.extensions["db"].close()


def test_an_expired_token_is_401(client: FlaskClient, alice: User) -> None:
    now = int(time.time())
    token = jwt.encode({"sub": str(alice.id), "iat": now - 7200, "exp": now - 3600}, JWT_SECRET, algorithm="HS256")
    assert_error(client.get("/todos", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized")


def test_a_token_signed_with_another_key_is_401(client: FlaskClient, alice: User) -> None:
    now = int(time.time())
    claims = {"sub": str(alice.id), "iat": now, "exp": now + 60}
    token = jwt.encode(claims, "another-secret-of-sufficient-length-0123456789", algorithm="HS256")
    assert_error(client.get("/todos", headers={"Authorization": f"Bearer {token}"}), 401)


def test_a_token_with_a_changed_payload_is_401(client: FlaskClient, alice: User, bob: User) -> None:
    header, _, signature = alice.token.split(".")
    claims = jwt.decode(alice.token, JWT_SECRET, algorithms=["HS256"])
    forged = f"{header}.{_b64({**claims, 'sub': str(bob.id)})}.{signature}"
    assert_error(client.get("/todos", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_a_token_with_a_flipped_signature_is_401(client: FlaskClient, alice: User) -> None:
    header, payload, signature = alice.token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_error(client.get("/todos", headers={"Authorization": f"Bearer {header}.{payload}.{flipped}"}), 401)


def test_an_unsigned_alg_none_token_is_401(client: FlaskClient, alice: User) -> None:
    now = int(time.time())
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': str(alice.id), 'iat': now, 'exp': now + 60})}."
    assert_error(client.get("/todos", headers={"Authorization": f"Bearer {token}"}), 401)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_a_token_with_another_hmac_algorithm_is_401(client: FlaskClient, alice: User, algorithm: str) -> None:
    now = int(time.time())
    token = jwt.encode({"sub": str(alice.id), "iat": now, "exp": now + 60}, JWT_SECRET, algorithm=algorithm)
    assert_error(client.get("/todos", headers={"Authorization": f"Bearer {token}"}), 401)


def test_a_token_claiming_a_public_key_algorithm_is_401(client: FlaskClient, alice: User) -> None:
    # The classic confusion attack: an RS256 header over an HMAC signature made with a public value.
    now = int(time.time())
    signing_input = (
        f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64({'sub': str(alice.id), 'iat': now, 'exp': now + 60})}"
    )
    token = f"{signing_input}.{base64.urlsafe_b64encode(b'x' * 256).rstrip(b'=').decode()}"
    assert_error(client.get("/todos", headers={"Authorization": f"Bearer {token}"}), 401)


_NOW = int(time.time())
_LATER = _NOW + 3600


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": _NOW, "exp": _LATER},
        {"sub": "1", "exp": _LATER},
        {"sub": "1", "iat": _NOW},
        {"sub": 1, "iat": _NOW, "exp": _LATER},
        {"sub": "abc", "iat": _NOW, "exp": _LATER},
        {"sub": "0", "iat": _NOW, "exp": _LATER},
        {"sub": "99999999999999999999", "iat": _NOW, "exp": _LATER},
    ],
    ids=["no-sub", "no-iat", "no-exp", "sub-not-string", "sub-not-number", "sub-zero", "sub-over-bigint"],
)
def test_a_correctly_signed_token_with_bad_claims_is_401(client: FlaskClient, claims: dict[str, object]) -> None:
    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    assert_error(client.get("/todos", headers={"Authorization": f"Bearer {token}"}), 401)


def test_a_valid_token_of_a_user_that_no_longer_exists_cannot_create_todos(client: FlaskClient) -> None:
    now = int(time.time())
    token = jwt.encode({"sub": str(2**62), "iat": now, "exp": now + 60}, JWT_SECRET, algorithm="HS256")
    response = client.post("/todos", json={"title": "ghost"}, headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401, "unauthorized")
