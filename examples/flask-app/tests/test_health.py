"""GET /health and GET /ready."""

from __future__ import annotations

from flask.testing import FlaskClient

from app import create_app

from .conftest import assert_error, make_settings
from .pgcluster import PgServer, free_port


def test_health_answers_ok(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_opens_no_database_pool(client: FlaskClient) -> None:
    for _ in range(5):
        client.get("/health")
    assert not client.application.extensions["db"].is_open


def test_health_answers_while_the_database_is_down(pg: PgServer) -> None:
    app = create_app(make_settings(pg, "postgres", db_port=free_port()))
    assert app.test_client().get("/health").status_code == 200


def test_ready_answers_when_the_database_does(client: FlaskClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_ready_is_503_with_retry_after_when_the_database_is_down(pg: PgServer) -> None:
    app = create_app(make_settings(pg, "postgres", db_port=free_port(), db_ready_timeout_seconds=0.5))
    try:
        response = app.test_client().get("/ready")
        assert_error(response, 503, "database_unavailable")
        assert int(response.headers["Retry-After"]) > 0
    finally:
        app.extensions["db"].close()
