"""The connection pool: nothing opened at start, everything closed when idle, 503 when down."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
from flask import Flask

from app import create_app, deadline
from app.db import Database, DatabaseBusyError, DatabaseUnavailableError

from .conftest import JWT_SECRET, assert_error, make_settings, new_user
from .pgcluster import PgCluster, PgServer, free_port


def _connections(pg: PgServer, application_name: str) -> int:
    with pg.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,))
        return int(row.fetchone()[0])  # type: ignore[index]


@pytest.fixture
def named_app(pg: PgServer, shared_db: str) -> Iterator[tuple[Flask, str]]:
    """The app with its own application_name and a 2 s idle timeout."""
    name = f"flask-app-test-{uuid.uuid4().hex[:8]}"
    app = create_app(make_settings(pg, shared_db, db_application_name=name, db_pool_max_idle_seconds=2.0))
    try:
        yield app, name
    finally:
        app.extensions["db"].close()


def test_starting_the_app_and_health_checks_open_no_connection(pg: PgServer, named_app: tuple[Flask, str]) -> None:
    app, name = named_app
    client = app.test_client()
    for _ in range(10):
        assert client.get("/health").status_code == 200
    assert not app.extensions["db"].is_open
    assert _connections(pg, name) == 0


def test_an_idle_app_closes_every_connection_after_the_idle_timeout(pg: PgServer, named_app: tuple[Flask, str]) -> None:
    app, name = named_app
    client = app.test_client()
    user = new_user(client)
    # Four concurrent requests make the pool grow past one connection.
    threads = [threading.Thread(target=lambda: client.get("/todos", headers=user.headers)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    idle_since = time.monotonic()
    assert _connections(pg, name) >= 1
    while _connections(pg, name) and time.monotonic() - idle_since < 10:
        time.sleep(0.2)
    closed_after = time.monotonic() - idle_since
    assert _connections(pg, name) == 0
    assert 1.5 <= closed_after <= 5.0, closed_after
    assert not app.extensions["db"].is_open


def test_the_pool_reopens_on_the_next_request_after_closing(pg: PgServer, named_app: tuple[Flask, str]) -> None:
    app, name = named_app
    client = app.test_client()
    assert client.get("/ready").status_code == 200
    app.extensions["db"].close()
    assert _connections(pg, name) == 0
    assert client.get("/ready").status_code == 200
    assert _connections(pg, name) == 1


def test_a_connection_the_server_dropped_is_replaced_transparently(pg: PgServer, named_app: tuple[Flask, str]) -> None:
    app, name = named_app
    client = app.test_client()
    user = new_user(client)
    with pg.connect() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,))
    assert client.get("/todos", headers=user.headers).status_code == 200


def test_requests_needing_the_database_are_503_when_it_is_down(pg: PgServer) -> None:
    app = create_app(make_settings(pg, "postgres", db_port=free_port(), db_pool_timeout_seconds=1.0))
    try:
        client = app.test_client()
        now = int(time.time())
        token = jwt.encode({"sub": "1", "iat": now, "exp": now + 60}, JWT_SECRET, algorithm="HS256")
        auth = {"Authorization": f"Bearer {token}"}
        credentials = {"username": "nobody", "password": "long-enough-password"}
        for response in (
            client.get("/todos", headers=auth),
            client.post("/todos", json={"title": "x"}, headers=auth),
            client.post("/auth/register", json=credentials),
            client.post("/auth/login", json=credentials),
        ):
            assert_error(response, 503, "database_unavailable")
            assert response.headers["Retry-After"].isdigit()
    finally:
        app.extensions["db"].close()


def test_a_request_rides_out_a_database_that_comes_up_8s_late() -> None:
    # psycopg_pool alone would retry at 1, 3, 7 and 15 s and miss a database back at 8 s within
    # the 14 s budget; the capped backoff (2 s at most) gets it.
    cluster = PgCluster().init()
    app = create_app(
        make_settings(cluster.server, "postgres", db_pool_timeout_seconds=14.0, db_ready_timeout_seconds=14.0)
    )
    timer = threading.Timer(8.0, cluster.start)
    try:
        started = time.monotonic()
        timer.start()
        response = app.test_client().get("/ready")
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.get_json()
        assert 8.0 <= elapsed < 12.0, elapsed
    finally:
        timer.join()
        app.extensions["db"].close()
        cluster.destroy()


def test_a_query_started_late_gets_only_what_is_left_of_the_request_deadline(pg: PgServer) -> None:
    settings = make_settings(pg, "postgres", request_deadline_seconds=3.0)
    db = Database(settings)
    try:
        deadline.mark_arrival(time.monotonic() - 2.0)  # queued for 2 s already
        deadline.begin(settings.request_deadline_seconds)
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError), db.connection() as conn:
            conn.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 2.0, "cancelled at the request deadline, not after 5 s"
    finally:
        deadline.end()
        db.close()


def test_past_the_deadline_no_connection_is_even_tried(pg: PgServer) -> None:
    db = Database(make_settings(pg, "postgres", request_deadline_seconds=1.0))
    try:
        deadline.mark_arrival(time.monotonic() - 2.0)
        deadline.begin(1.0)
        with pytest.raises(DatabaseUnavailableError, match="deadline"), db.connection():
            pass
        assert not db.is_open
    finally:
        deadline.end()
        db.close()


def test_requests_beyond_the_database_slots_are_turned_away_at_once(pg: PgServer) -> None:
    db = Database(make_settings(pg, "postgres", db_request_slots=2))
    try:
        with db.connection(), db.connection():
            started = time.monotonic()
            with pytest.raises(DatabaseBusyError), db.connection():
                pass
            assert time.monotonic() - started < 0.5
        with db.connection() as conn:  # slots are given back
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        db.close()
