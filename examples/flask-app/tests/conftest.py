"""Fixtures: a real PostgreSQL server, fresh databases, the app and authenticated users.

run-tests.sh starts one server and passes it in FLASK_APP_TEST_PG*; without those, the session
starts its own (pytest can then be run directly).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

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
