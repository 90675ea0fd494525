"""DB_IAM_AUTH=1: a fresh RDS IAM auth token, signed locally, as the password of every new connection.

PostgreSQL cannot check an IAM token itself, so the database tests use conftest.IamStandIn: the
app's real token function runs, then the role's password is set to the token it just signed.
The server then accepts exactly the token the app presents and nothing signed earlier.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
import urllib.parse
from pathlib import Path

import pytest

from app import boot, create_app, iam_auth
from app.config import ConfigError, Settings
from app.db import Database, connect_with_retry

from .conftest import AWS_REGION, FAKE_AWS_ENV, IamStandIn

BASE = {"DB_HOST": "db.example", "DB_NAME": "todos", "DB_USER": "flask_app", "JWT_SECRET": "x" * 32}
IAM = {**BASE, "DB_IAM_AUTH": "1", "AWS_REGION": AWS_REGION}


# --- settings -----------------------------------------------------------------------------


def test_iam_auth_needs_no_password_and_defaults_to_tls() -> None:
    s = Settings.from_env(IAM)
    assert (s.db_iam_auth, s.aws_region, s.db_sslmode, s.db_password) == (True, AWS_REGION, "require", "")
    assert Settings.from_env({**IAM, "AWS_REGION": "", "AWS_DEFAULT_REGION": "eu-west-1"}).aws_region == "eu-west-1"
    assert not Settings.from_env({**BASE, "DB_PASSWORD": "pw"}).db_iam_auth


def test_iam_auth_without_a_region_is_a_clear_error() -> None:
    env = {k: v for k, v in IAM.items() if k != "AWS_REGION"}
    with pytest.raises(ConfigError, match=r"DB_IAM_AUTH=1 needs the database's AWS region in AWS_REGION"):
        Settings.from_env(env)


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_iam_auth_refuses_an_ssl_mode_that_can_fall_back_to_clear_text(mode: str) -> None:
    with pytest.raises(ConfigError, match=f"DB_SSLMODE={mode} cannot be used with DB_IAM_AUTH=1"):
        Settings.from_env({**IAM, "DB_SSLMODE": mode})
    assert Settings.from_env({**BASE, "DB_PASSWORD": "pw", "DB_SSLMODE": mode}).db_sslmode == mode


def test_db_iam_auth_accepts_only_0_or_1() -> None:
    with pytest.raises(ConfigError, match="DB_IAM_AUTH must be 0 or 1"):
        Settings.from_env({**IAM, "DB_IAM_AUTH": "yes"})
    with pytest.raises(ConfigError, match="DB_PASSWORD is required"):
        Settings.from_env({**IAM, "DB_IAM_AUTH": "0"})


def test_no_secret_appears_in_the_settings_repr() -> None:
    text = repr(Settings.from_env({**BASE, "DB_PASSWORD": "pw-in-repr-0123"}))
    assert "pw-in-repr-0123" not in text and "x" * 32 not in text


# --- the token ----------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any attempt to open a network connection fails the test (and is recorded)."""
    attempts: list[object] = []

    def refuse(_sock: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError(f"network connection attempted to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_the_token_is_signed_locally_with_no_network_call(fake_aws: dict[str, str], no_network: list[object]) -> None:
    settings = Settings.from_env({**IAM, "DB_HOST": "my-cluster.cluster-abc.ap-southeast-1.rds.amazonaws.com"})
    token = settings.new_password()
    assert no_network == []
    host_port, query = token.split("/?", 1)
    assert host_port == "my-cluster.cluster-abc.ap-southeast-1.rds.amazonaws.com:5432"
    params = dict(urllib.parse.parse_qsl(query, strict_parsing=True))
    assert query.startswith("Action=connect&DBUser=flask_app&")
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Expires"] == "900" == str(iam_auth.TOKEN_LIFETIME_SECONDS)
    key_id, day, region, service, kind = params["X-Amz-Credential"].split("/")
    assert (key_id, region, service, kind) == (FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"], AWS_REGION, "rds-db", "aws4_request")
    assert day == time.strftime("%Y%m%d", time.gmtime(time.time() - 1)) or day == time.strftime("%Y%m%d", time.gmtime())
    assert params["X-Amz-Security-Token"] == FAKE_AWS_ENV["AWS_SESSION_TOKEN"]
    assert params["X-Amz-SignedHeaders"] == "host"
    assert len(params["X-Amz-Signature"]) == 64
    # The secret key signs; it is never in the token.
    assert FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"] not in urllib.parse.unquote(token)


def test_without_aws_credentials_the_error_is_clear_and_holds_no_secret(
    fake_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch, no_network: list[object]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    with pytest.raises(iam_auth.TokenError, match="could not sign an RDS IAM auth token for flask_app: NoCredentials"):
        Settings.from_env(IAM).new_password()
    assert no_network == []


# --- every new connection gets a fresh token (real PostgreSQL over TLS) --------------------


def _terminate(stand_in: IamStandIn, application_name: str) -> None:
    with stand_in.pg.connect() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        )


def test_a_pool_older_than_a_token_opens_its_next_connection_with_a_new_one(
    iam_stand_in: tuple[IamStandIn, dict[str, str]],
) -> None:
    stand_in, env = iam_stand_in
    settings = dataclasses.replace(
        Settings.from_env({**env, "DB_APPLICATION_NAME": "iam-pool"}),
        db_pool_timeout_seconds=8.0,
        db_ready_timeout_seconds=8.0,
    )
    app = create_app(settings)
    try:
        client = app.test_client()
        assert client.get("/ready").status_code == 200
        assert len(stand_in.tokens) == 1
        with stand_in.pg.connect() as conn:
            row = conn.execute(
                "SELECT usename, ssl FROM pg_stat_activity JOIN pg_stat_ssl USING (pid) WHERE application_name = %s",
                ("iam-pool",),
            ).fetchone()
        assert row == (stand_in.role, True), "logged in as the role, over TLS"

        # 15 minutes later: the first token is refused, and the server dropped the connection.
        stand_in.expire()
        _terminate(stand_in, "iam-pool")
        response = client.get("/ready")
        assert response.status_code == 200, response.get_json()
        # (The pool may open a spare connection as it replaces the dropped one: a token each.)
        assert len(stand_in.tokens) >= 2 and stand_in.tokens[0] not in stand_in.tokens[1:]
    finally:
        app.extensions["db"].close()


def test_every_way_the_app_connects_signs_a_token_for_that_connection(
    iam_stand_in: tuple[IamStandIn, dict[str, str]],
) -> None:
    stand_in, env = iam_stand_in
    settings = Settings.from_env(env)

    # The boot's wait and its migrations, as the role (its settings check signs one token too).
    assert boot.main(env) == 0
    assert len(stand_in.tokens) == 2
    with stand_in.pg.connect(env["DB_NAME"]) as conn:
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'app'::regnamespace"
        ).fetchall()
    assert owners == [(stand_in.role,)]

    # python -m app.migrate's connection.
    stand_in.expire()
    with connect_with_retry(settings, 5.0, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (stand_in.role,)
    assert len(stand_in.tokens) == 3

    # Two connections open at once in the pool: one token each.
    stand_in.expire()
    db = Database(dataclasses.replace(settings, db_pool_timeout_seconds=5.0))
    try:
        with db.connection() as first:
            stand_in.expire()
            with db.connection() as second:
                assert first.info.backend_pid != second.info.backend_pid
        assert len(stand_in.tokens) == 5 and len(set(stand_in.tokens[2:])) == 3
    finally:
        db.close()


def test_the_token_never_appears_in_any_log_line(
    iam_stand_in: tuple[IamStandIn, dict[str, str]],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stand_in, env = iam_stand_in
    caplog.set_level(logging.DEBUG)  # everything any logger emits, botocore's included
    settings = dataclasses.replace(
        Settings.from_env({**env, "DB_APPLICATION_NAME": "iam-logs"}),
        db_pool_timeout_seconds=2.0,
        db_ready_timeout_seconds=2.0,
    )
    settings.new_password()  # botocore loaded and its client built before the clock runs
    app = create_app(settings)
    try:
        client = app.test_client()
        assert client.get("/ready").status_code == 200
        # A refused token (the role's password changes under it): the failure is logged.
        real_sign = stand_in.sign
        stand_in.sign = lambda real, *args: (real_sign(real, *args), stand_in.expire())[0]  # type: ignore[method-assign]
        _terminate(stand_in, "iam-logs")
        assert client.get("/ready").status_code == 503
    finally:
        app.extensions["db"].close()
    stand_in.sign = real_sign  # type: ignore[method-assign]
    status = boot.main(env)
    out = capsys.readouterr().out
    assert status == 0, out
    tokens = stand_in.tokens
    assert len(tokens) >= 3
    secrets = [*tokens, *(dict(urllib.parse.parse_qsl(t.split("/?")[1]))["X-Amz-Signature"] for t in tokens)]
    lines = [record.getMessage() for record in caplog.records] + out.splitlines()
    assert any("password authentication failed" in line or "authentication failed" in line for line in lines), lines
    leaks = [line for line in lines for secret in secrets if secret in line]
    assert leaks == []


def test_the_boot_with_iam_auth_fails_fast_without_aws_credentials(
    fake_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    env = {**IAM, "DB_HOST": "127.0.0.1", "DB_PORT": "1", "DB_WAKE_DEADLINE_SECONDS": "60"}
    started = time.monotonic()
    assert boot.main(env) == 2
    assert time.monotonic() - started < 5
    out = capsys.readouterr().out
    assert "boot: bad setting: could not sign an RDS IAM auth token for flask_app: NoCredentialsError" in out
    assert "waiting up to" not in out


def test_a_wrong_ssl_mode_with_iam_auth_stops_the_boot_naming_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert boot.main({**IAM, "DB_SSLMODE": "prefer"}) == 2
    assert "boot: bad setting: DB_SSLMODE=prefer cannot be used with DB_IAM_AUTH=1" in capsys.readouterr().out
