"""Fixtures: a real PostgreSQL server, fresh databases, the app and authenticated users.

run-tests.sh starts one server and passes it in FLASK_APP_TEST_PG*; without those, the session
starts its own (pytest can then be run directly).
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql

from app import create_app
from app.config import Settings
from app.migrate import DEFAULT_DIR, discover, migrate

from .pgcluster import PgCluster, PgServer

APP_DIR = Path(__file__).resolve().parent.parent
JWT_SECRET = "test-secret-long-enough-for-hs256-and-hs512-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    """The PostgreSQL server all tests share."""
    if os.environ.get("FLASK_APP_TEST_PGPORT"):
        yield PgServer(
            os.environ.get("FLASK_APP_TEST_PGHOST", "127.0.0.1"),
            int(os.environ["FLASK_APP_TEST_PGPORT"]),
            os.environ.get("FLASK_APP_TEST_PGUSER", "postgres"),
            os.environ["FLASK_APP_TEST_PGPASSWORD"],
        )
        return
    cluster = PgCluster().init().start()
    try:
        yield cluster.server
    finally:
        cluster.destroy()


def _create_database(pg: PgServer) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with pg.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(pg: PgServer, name: str) -> None:
    with pg.connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_db(pg: PgServer) -> Iterator[str]:
    """An empty database of its own, dropped afterwards."""
    name = _create_database(pg)
    try:
        yield name
    finally:
        _drop_database(pg, name)


@pytest.fixture(scope="session")
def shared_db(pg: PgServer) -> Iterator[str]:
    """One migrated database for the API tests (each test uses its own usernames)."""
    name = _create_database(pg)
    with pg.connect(name) as conn:
        migrate(conn, discover(DEFAULT_DIR), say=lambda _: None)
    try:
        yield name
    finally:
        _drop_database(pg, name)


def make_settings(pg: PgServer, dbname: str, **overrides: object) -> Settings:
    """Settings for the app on a test database; short waits so failures show quickly."""
    env = {**pg.db_env(dbname), "JWT_SECRET": JWT_SECRET}
    settings = Settings.from_env(env)
    values: dict[str, object] = {
        "db_pool_timeout_seconds": 5.0,
        "db_ready_timeout_seconds": 2.0,
        "db_connect_timeout": 2,
        **overrides,
    }
    return dataclasses.replace(settings, **values)  # type: ignore[arg-type]


@pytest.fixture
def app(pg: PgServer, shared_db: str) -> Iterator[Flask]:
    """The app on the shared database."""
    flask_app = create_app(make_settings(pg, shared_db))
    try:
        yield flask_app
    finally:
        flask_app.extensions["db"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@dataclass
class User:
    """A registered user and a valid token."""

    id: int
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header for this user."""
        return {"Authorization": f"Bearer {self.token}"}


def new_user(client: FlaskClient, prefix: str = "user") -> User:
    """Register a user with a unique name and log in."""
    username = f"{prefix}_{uuid.uuid4().hex[:12]}"
    created = client.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert created.status_code == 201, created.get_json()
    login = client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    return User(created.get_json()["id"], username, login.get_json()["access_token"])


@pytest.fixture
def alice(client: FlaskClient) -> User:
    """A signed-in user."""
    return new_user(client, "alice")


@pytest.fixture
def bob(client: FlaskClient) -> User:
    """Another signed-in user."""
    return new_user(client, "bob")


def assert_error(response: object, status: int, code: str | None = None) -> dict[str, str]:
    """The response is the JSON error shape with this status (and code); return the error."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))  # type: ignore[attr-defined]
    assert response.mimetype == "application/json"  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    assert "Traceback" not in response.get_data(as_text=True)  # type: ignore[attr-defined]
    return body["error"]  # type: ignore[no-any-return]


# Numbers worth seeing in the run's output (schemathesis cases, wake time), printed at the end.
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the measurements tests recorded."""
    if REPORT:
        terminalreporter.section("measurements")
        for line in REPORT:
            terminalreporter.write_line(line)


# --- RDS IAM authentication on a real PostgreSQL ----------------------------------------------

AWS_REGION = "ap-southeast-1"
# Static, made-up credentials in the shape AWS issues: signing needs no more, and no network.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
    "AWS_REGION": AWS_REGION,
    # Nothing from the machine's own AWS setup, and never the instance metadata service.
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fake AWS credentials in the environment; botocore clients built from them afresh."""
    from app import iam_auth

    for name in ("AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(iam_auth, "_clients", {})
    return dict(FAKE_AWS_ENV)


@pytest.fixture(scope="session")
def tls_pg() -> Iterator[tuple[PgServer, Path]]:
    """A PostgreSQL server of its own with TLS on (IAM tokens are sent only over TLS), and its CA file.

    It has a NOLOGIN role ``rds_iam`` standing for Aurora's predefined one (vanilla PostgreSQL
    has none); the server without TLS (``pg``) has none, as a cluster without IAM support.
    """
    cluster = PgCluster(tls=True).init().start()
    try:
        with cluster.server.connect() as conn:
            conn.execute("CREATE ROLE rds_iam NOLOGIN")
        yield cluster.server, cluster.ca_file
    finally:
        cluster.destroy()


class IamStandIn:
    """PostgreSQL standing in for RDS's IAM check: the app's own token function runs for real,
    then the role's password is set to the token it just signed, so the server accepts exactly
    that token and nothing older. ``expire()`` makes every token signed so far invalid, as 15
    minutes would on RDS. A token for a role that does not exist is signed all the same (as on
    AWS) and refused at login."""

    def __init__(self, pg: PgServer, role: str) -> None:
        self.pg, self.role = pg, role
        self.tokens: list[str] = []

    def sign(self, real: object, host: str, port: int, user: str, region: str) -> str:
        from app.app_role import scram_verifier

        token = real(host, port, user, region)  # type: ignore[operator]
        assert user == self.role
        self._set_password(scram_verifier(token))
        self.tokens.append(token)
        return token  # type: ignore[no-any-return]

    def expire(self) -> None:
        """Refuse every token signed so far; wait so the next one (signed per second) differs."""
        from app.app_role import scram_verifier

        self._set_password(scram_verifier(uuid.uuid4().hex))
        second = int(time.time())
        while int(time.time()) == second:
            time.sleep(0.05)

    def _set_password(self, verifier: str) -> None:
        with self.pg.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.role,)).fetchone():
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(self.role), sql.Literal(verifier))
                )


@pytest.fixture
def iam_env(
    monkeypatch: pytest.MonkeyPatch, fake_aws: dict[str, str], tls_pg: tuple[PgServer, Path]
) -> Iterator[tuple[IamStandIn, dict[str, str]]]:
    """A fresh database on the TLS server, the stand-in wired into the app's token function for
    a role name of its own (not created), and the app's IAM environment for that role."""
    from app import iam_auth

    pg, ca_file = tls_pg
    dbname = _create_database(pg)
    role = f"iam_{uuid.uuid4().hex[:10]}"
    stand_in = IamStandIn(pg, role)
    real = iam_auth.auth_token
    monkeypatch.setattr(iam_auth, "auth_token", lambda *args: stand_in.sign(real, *args))
    env = {
        **fake_aws,
        "DB_HOST": pg.host,
        "DB_PORT": str(pg.port),
        "DB_NAME": dbname,
        "DB_USER": role,
        "DB_IAM_AUTH": "1",
        "DB_SSLMODE": "verify-full",
        "DB_SSLROOTCERT": str(ca_file),
        "JWT_SECRET": JWT_SECRET,
    }
    try:
        yield stand_in, env
    finally:
        _drop_database(pg, dbname)
        with pg.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def iam_stand_in(iam_env: tuple[IamStandIn, dict[str, str]]) -> tuple[IamStandIn, dict[str, str]]:
    """``iam_env`` with its role created: LOGIN, owner of the schema ``app``, its search_path."""
    stand_in, env = iam_env
    role, dbname = stand_in.role, env["DB_NAME"]
    with stand_in.pg.connect(dbname) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("CREATE SCHEMA app AUTHORIZATION {}").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = app").format(
                sql.Identifier(role), sql.Identifier(dbname)
            )
        )
    return stand_in, env
