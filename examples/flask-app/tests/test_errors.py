"""Every error is JSON {"error": {"code", "message"}} with the right status, never a trace."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app

from .conftest import User, assert_error, make_settings
from .pgcluster import PgServer


def test_unknown_route_is_json_404(client: FlaskClient) -> None:
    assert_error(client.get("/no/such/thing"), 404, "not_found")


def test_wrong_method_is_json_405_with_allow(client: FlaskClient) -> None:
    response = client.put("/todos")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_options_is_not_answered_outside_the_contract(client: FlaskClient) -> None:
    assert_error(client.options("/todos"), 405, "method_not_allowed")


def test_body_over_the_limit_is_413(client: FlaskClient, alice: User) -> None:
    body = '{"title": "' + "x" * 20_000 + '"}'
    response = client.post("/todos", data=body, content_type="application/json", headers=alice.headers)
    assert_error(response, 413, "payload_too_large")


def test_non_json_content_type_is_415(client: FlaskClient, alice: User) -> None:
    response = client.post(
        "/todos", data="title=milk", content_type="application/x-www-form-urlencoded", headers=alice.headers
    )
    assert_error(response, 415, "unsupported_media_type")


def test_missing_content_type_is_415(client: FlaskClient) -> None:
    assert_error(client.post("/auth/register", data='{"username": "abc"}'), 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"title": NaN}',
        b"\xff\xfe{}",
        b"[" * 5000 + b"]" * 5000,
    ],
    ids=["empty", "truncated", "array", "string", "null", "nan", "not-utf8", "deeply-nested"],
)
def test_malformed_json_is_400(client: FlaskClient, alice: User, raw: bytes) -> None:
    response = client.post("/todos", data=raw, content_type="application/json", headers=alice.headers)
    assert_error(response, 400, "invalid_json")


def test_unexpected_exception_is_a_generic_500_without_details(pg: PgServer, shared_db: str) -> None:
    app: Flask = create_app(make_settings(pg, shared_db))

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals /app/app/todos.py line 42")

    response = app.test_client().get("/boom")
    error = assert_error(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    assert "RuntimeError" not in error["message"]
