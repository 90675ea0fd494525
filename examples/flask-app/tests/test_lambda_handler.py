"""The Lambda handler: API Gateway REST proxy events through apig-wsgi into the app, on a real PostgreSQL.

Each test builds the handler the way the serving function does (``LambdaApp`` from the
environment contract) and calls it with events in the documented proxy shape
(tests/lambda_events.py) and the runtime client's own context class, whose remaining time comes
from an absolute deadline exactly as on Lambda.
"""

from __future__ import annotations

import base64
import logging
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from awslambdaric.lambda_context import LambdaContext
from flask import Response

from app import lambda_handler
from app.lambda_handler import DEADLINE_MARGIN_SECONDS, DeployStepError, LambdaApp, run_deploy_steps
from app.migrate import DEFAULT_DIR, discover, migrate

from .conftest import JWT_SECRET, PASSWORD, REPORT
from .lambda_events import Reply, documented_example_event, rest_event
from .pgcluster import PgCluster, PgServer, free_port

Invoke = Callable[..., Reply]


def context(remaining_seconds: float = 29.0) -> LambdaContext:
    """The runtime client's context for an invocation ending ``remaining_seconds`` from now."""
    deadline_ms = int((time.time() + remaining_seconds) * 1000)
    return LambdaContext(str(uuid.uuid4()), None, None, deadline_ms, "arn:aws:lambda:ap-southeast-1:1:function:f")


def lambda_env(pg: PgServer, dbname: str, **extra: str) -> dict[str, str]:
    """The serving function's environment: the contract, with an application_name of its own."""
    return {
        **pg.db_env(dbname),
        "JWT_SECRET": JWT_SECRET,
        "DB_APPLICATION_NAME": f"lambda-{uuid.uuid4().hex[:10]}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        **extra,
    }


def connections(pg: PgServer, application_name: str) -> int:
    """Connections the server has open for this application_name."""
    with pg.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,))
        return int(row.fetchone()[0])  # type: ignore[index]


@pytest.fixture
def env(pg: PgServer, shared_db: str) -> dict[str, str]:
    """The function's environment on the shared, migrated database."""
    return lambda_env(pg, shared_db)


@pytest.fixture
def environment(env: dict[str, str]) -> Iterator[LambdaApp]:
    """One execution environment, started now."""
    serving = LambdaApp(env, time.monotonic())
    yield serving
    serving.app.extensions["db"].close()


@pytest.fixture
def invoke(environment: LambdaApp) -> Invoke:
    """Call the handler with one event; the reply as API Gateway reads it."""

    def call(event: dict[str, Any], remaining_seconds: float = 29.0) -> Reply:
        return Reply(environment(event, context(remaining_seconds)))

    return call


def sign_up(invoke: Invoke) -> dict[str, str]:
    """Register and log in a new user through the handler; the Authorization header."""
    username = f"lambda_{uuid.uuid4().hex[:12]}"
    credentials = {"username": username, "password": PASSWORD}
    assert invoke(rest_event("POST", "/auth/register", json_body=credentials)).status == 201
    login = invoke(rest_event("POST", "/auth/login", json_body=credentials))
    assert login.status == 200, login.raw
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


# --- every endpoint -----------------------------------------------------------------------


def test_health_and_ready_answer_json_and_health_opens_no_connection(
    invoke: Invoke, env: dict[str, str], pg: PgServer
) -> None:
    health = invoke(rest_event("GET", "/health"))
    assert (health.status, health.json()) == (200, {"status": "ok"})
    assert health.header("Content-Type") == ["application/json"]
    assert health.raw["isBase64Encoded"] is False
    assert connections(pg, env["DB_APPLICATION_NAME"]) == 0
    ready = invoke(rest_event("GET", "/ready"))
    assert (ready.status, ready.json()) == (200, {"status": "ready"})


def test_register_and_login_through_proxy_events(invoke: Invoke) -> None:
    username = f"lambda_{uuid.uuid4().hex[:12]}"
    credentials = {"username": username, "password": PASSWORD}
    created = invoke(rest_event("POST", "/auth/register", json_body=credentials))
    assert created.status == 201 and created.json()["username"] == username
    invoke(rest_event("POST", "/auth/register", json_body=credentials)).error(409, "username_taken")
    login = invoke(rest_event("POST", "/auth/login", json_body=credentials))
    assert login.status == 200
    assert login.json()["token_type"] == "Bearer" and login.json()["access_token"]
    assert login.header("Cache-Control") == ["no-store"]
    wrong = invoke(rest_event("POST", "/auth/login", json_body={**credentials, "password": "wrong-password"}))
    wrong.error(401, "invalid_credentials")


def test_todos_create_read_list_update_delete(invoke: Invoke) -> None:
    auth = list(sign_up(invoke).items())
    created = invoke(rest_event("POST", "/todos", headers=auth, json_body={"title": "buy milk"}))
    assert created.status == 201, created.raw
    todo = created.json()
    assert (todo["title"], todo["done"]) == ("buy milk", False)
    path = f"/todos/{todo['id']}"
    assert invoke(rest_event("GET", path, headers=auth)).json() == todo
    second = invoke(rest_event("POST", "/todos", headers=auth, json_body={"title": "walk", "done": True}))
    assert second.status == 201
    page = invoke(rest_event("GET", "/todos", headers=auth, query=[("limit", "1"), ("offset", "1")]))
    assert page.status == 200
    assert (page.json()["total"], page.json()["limit"], page.json()["offset"]) == (2, 1, 1)
    assert [item["title"] for item in page.json()["items"]] == ["walk"]
    patched = invoke(rest_event("PATCH", path, headers=auth, json_body={"done": True}))
    assert patched.status == 200 and patched.json()["done"] is True
    deleted = invoke(rest_event("DELETE", path, headers=auth))
    assert deleted.status == 204 and deleted.body == b""
    invoke(rest_event("GET", path, headers=auth)).error(404, "not_found")


def test_another_users_todo_is_not_found(invoke: Invoke) -> None:
    alice, bob = list(sign_up(invoke).items()), list(sign_up(invoke).items())
    todo = invoke(rest_event("POST", "/todos", headers=alice, json_body={"title": "private"})).json()
    invoke(rest_event("GET", f"/todos/{todo['id']}", headers=bob)).error(404, "not_found")


# --- errors -------------------------------------------------------------------------------


def test_the_documented_example_event_gets_a_json_404(invoke: Invoke) -> None:
    invoke(documented_example_event()).error(404, "not_found")


def test_invalid_json_is_a_400(invoke: Invoke) -> None:
    event = rest_event("POST", "/auth/login", body="{not json", headers=[("Content-Type", "application/json")])
    invoke(event).error(400, "invalid_json")


def test_a_missing_or_bad_token_is_a_401_with_www_authenticate(invoke: Invoke) -> None:
    missing = invoke(rest_event("GET", "/todos"))
    missing.error(401, "unauthorized")
    assert missing.header("WWW-Authenticate") == ['Bearer realm="todos"']
    invoke(rest_event("GET", "/todos", headers=[("Authorization", "Bearer not.a.jwt")])).error(401, "unauthorized")


def test_an_unknown_path_is_a_404_and_a_wrong_method_a_405_with_allow(invoke: Invoke) -> None:
    invoke(rest_event("GET", "/nothing/here")).error(404, "not_found")
    wrong = invoke(rest_event("DELETE", "/todos"))
    wrong.error(405, "method_not_allowed")
    assert set(wrong.header("Allow")[0].replace(" ", "").split(",")) == {"GET", "POST", "HEAD"}


def test_a_body_over_max_content_length_is_a_413(invoke: Invoke) -> None:
    big = {"username": "someone", "password": "x" * 20_000}
    invoke(rest_event("POST", "/auth/register", json_body=big)).error(413, "payload_too_large")


def test_a_body_that_is_not_json_is_a_415(invoke: Invoke) -> None:
    event = rest_event("POST", "/auth/register", body="username=a", headers=[("Content-Type", "text/plain")])
    invoke(event).error(415, "unsupported_media_type")


def test_an_event_that_is_not_a_proxy_event_is_refused(environment: LambdaApp) -> None:
    with pytest.raises(ValueError, match="REST proxy event"):
        environment({"source": "aws.events"}, context())


def test_a_bad_setting_is_a_json_500_and_the_log_names_the_variable(
    pg: PgServer, shared_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = lambda_env(pg, shared_db, JWT_SECRET="too-short-" + "s3cr3t")
    with caplog.at_level(logging.ERROR, logger="app.lambda_handler"):
        reply = Reply(LambdaApp(env, time.monotonic())(rest_event("GET", "/health"), context()))
    reply.error(500, "internal_error")
    assert "JWT_SECRET must be at least 32 bytes" in caplog.text
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in reply.body.decode()


# --- headers, query strings, base64 -------------------------------------------------------


def test_multi_value_query_parameters_reach_the_app(invoke: Invoke) -> None:
    auth = list(sign_up(invoke).items())
    twice = invoke(rest_event("GET", "/todos", headers=auth, query=[("limit", "1"), ("limit", "2")]))
    assert twice.error(400, "invalid_request")["message"] == "limit must be given at most once."
    once = invoke(rest_event("GET", "/todos", headers=auth, query=[("limit", "3")]))
    assert once.status == 200 and once.json()["limit"] == 3


def test_headers_come_from_multi_value_headers_and_the_reply_uses_them_too(invoke: Invoke) -> None:
    auth = sign_up(invoke)
    event = rest_event("GET", "/todos")
    # API Gateway's single-value map holds the last value only; the multi-value map is complete.
    event["multiValueHeaders"]["Authorization"] = [auth["Authorization"]]
    reply = invoke(event)
    assert reply.status == 200, reply.raw
    assert "multiValueHeaders" in reply.raw and "headers" not in reply.raw
    assert reply.raw["multiValueHeaders"]["Content-Type"] == ["application/json"]


def test_two_authorization_headers_are_not_accepted(invoke: Invoke) -> None:
    auth = sign_up(invoke)["Authorization"]
    reply = invoke(rest_event("GET", "/todos", headers=[("Authorization", auth), ("Authorization", auth)]))
    reply.error(401, "unauthorized")


def test_an_event_without_multi_value_keys_is_served_with_single_value_headers(invoke: Invoke) -> None:
    auth = list(sign_up(invoke).items())
    reply = invoke(rest_event("GET", "/todos", headers=auth, query=[("limit", "2")], multi_value=False))
    assert reply.status == 200 and reply.json()["limit"] == 2
    assert reply.raw["headers"]["Content-Type"] == "application/json" and "multiValueHeaders" not in reply.raw


def test_base64_encoded_request_bodies_are_decoded(invoke: Invoke) -> None:
    credentials = {"username": f"b64_{uuid.uuid4().hex[:12]}", "password": PASSWORD}
    created = invoke(rest_event("POST", "/auth/register", json_body=credentials, base64_body=True))
    assert created.status == 201, created.raw
    login = invoke(rest_event("POST", "/auth/login", json_body=credentials, base64_body=True))
    assert login.status == 200
    not_utf8 = rest_event(
        "POST", "/auth/login", body=b"\xff\xfe{}", base64_body=True, headers=[("Content-Type", "application/json")]
    )
    invoke(not_utf8).error(400, "invalid_json")


def test_json_replies_are_text_and_binary_replies_are_base64_flagged(environment: LambdaApp, invoke: Invoke) -> None:
    payload = bytes(range(256))

    # The app serves no binary today; a route added to the same app shows what one would get.
    @environment.app.get("/binary-probe")
    def _probe() -> Response:
        return Response(payload, mimetype="application/octet-stream")

    health = invoke(rest_event("GET", "/health"))
    assert health.raw["isBase64Encoded"] is False and health.raw["body"] == '{"status":"ok"}\n'
    unauthorized = invoke(rest_event("DELETE", "/todos/1", headers=[("Authorization", "Bearer x")]))
    assert unauthorized.raw["isBase64Encoded"] is False and unauthorized.json()["error"]["code"] == "unauthorized"
    binary = invoke(rest_event("GET", "/binary-probe"))
    assert binary.status == 200 and binary.raw["isBase64Encoded"] is True
    assert base64.b64decode(binary.raw["body"]) == payload


# --- the database away, the deadline, connections -----------------------------------------


def test_no_connection_is_left_open_after_an_invocation(invoke: Invoke, env: dict[str, str], pg: PgServer) -> None:
    auth = list(sign_up(invoke).items())
    for _ in range(3):
        assert invoke(rest_event("POST", "/todos", headers=auth, json_body={"title": "t"})).status == 201
        assert invoke(rest_event("GET", "/todos", headers=auth)).status == 200
        assert connections(pg, env["DB_APPLICATION_NAME"]) == 0


@pytest.fixture
def stopped_db() -> Iterator[PgCluster]:
    """A server of its own, migrated, then stopped (a test may start it again)."""
    cluster = PgCluster().init().start()
    try:
        with cluster.server.connect() as conn:
            migrate(conn, discover(DEFAULT_DIR), say=lambda _: None)
            # The test server commits asynchronously and stops with -m immediate: flush first.
            conn.execute("CHECKPOINT")
        cluster.stop()
        yield cluster
    finally:
        cluster.destroy()


def test_a_stopped_database_gives_503_with_retry_after_before_the_function_times_out(
    stopped_db: PgCluster,
) -> None:
    serving = LambdaApp(lambda_env(stopped_db.server, "postgres"), time.monotonic())
    assert Reply(serving(rest_event("GET", "/health"), context())).status == 200, "/health needs no database"
    remaining = 8.0
    login = rest_event("POST", "/auth/login", json_body={"username": "someone", "password": PASSWORD})
    for event in (rest_event("GET", "/ready"), login):
        started = time.monotonic()
        reply = Reply(serving(event, context(remaining)))
        took = time.monotonic() - started
        reply.error(503, "database_unavailable")
        assert reply.header("Retry-After") == ["10"]
        assert took < remaining - DEADLINE_MARGIN_SECONDS / 2, (event["path"], took)
    stopped_db.start()
    assert Reply(serving(rest_event("GET", "/ready"), context())).status == 200, "the next event connects again"
    serving.app.extensions["db"].close()


def test_a_database_back_within_the_deadline_gets_the_answer_not_a_503(stopped_db: PgCluster) -> None:
    # A cold start against a resuming database: it answers after a few seconds, the request waits.
    serving = LambdaApp(lambda_env(stopped_db.server, "postgres"), time.monotonic())
    auth = list(sign_up_offline(serving).items())
    starter = threading.Timer(3.0, stopped_db.start)
    starter.start()
    try:
        started = time.monotonic()
        reply = Reply(serving(rest_event("GET", "/todos", headers=auth), context(28.0)))
        took = time.monotonic() - started
    finally:
        starter.join()
    assert reply.status == 200, reply.raw
    assert reply.json()["items"] == []
    assert 3.0 <= took < 28.0 - DEADLINE_MARGIN_SECONDS, took
    REPORT.append(f"lambda: database back after 3 s (plus its start): answered 200 after {took:.2f} s")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a paused Aurora holding a login."""
    port = free_port()
    listener = socket.create_server(("127.0.0.1", port), backlog=64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join()
    for sock in held:
        sock.close()
    listener.close()


def test_a_resuming_database_that_holds_the_login_gives_503_before_the_function_times_out(
    pg: PgServer, silent_port: int
) -> None:
    # The image's own connect timeout (20 s) and pool wait (25 s): only the deadline cuts them short.
    env = {**lambda_env(pg, "postgres"), "DB_PORT": str(silent_port)}
    serving = LambdaApp(env, time.monotonic())
    remaining = 9.0
    auth = list(sign_up_offline(serving).items())
    started = time.monotonic()
    reply = Reply(serving(rest_event("GET", "/todos", headers=auth), context(remaining)))
    took = time.monotonic() - started
    reply.error(503, "database_unavailable")
    assert reply.header("Retry-After") == ["10"]
    assert remaining - DEADLINE_MARGIN_SECONDS - 1.0 < took < remaining, took
    REPORT.append(f"lambda: a login the database holds: 503 after {took:.2f} s of a {remaining:.0f} s invocation")


def sign_up_offline(serving: LambdaApp) -> dict[str, str]:
    """A valid token for user 1, signed with the function's key (no database needed)."""
    from app.auth import issue_token

    return {"Authorization": f"Bearer {issue_token(1, serving.app.extensions['settings'])}"}


def test_a_cold_start_counts_against_the_first_requests_deadline(pg: PgServer, silent_port: int) -> None:
    env = {**lambda_env(pg, "postgres"), "DB_PORT": str(silent_port), "REQUEST_DEADLINE_SECONDS": "6"}
    # The environment started 4 s ago (image, interpreter, imports): 2 s are left of the 6 s.
    cold = LambdaApp(env, time.monotonic() - 4.0)
    auth = list(sign_up_offline(cold).items())
    started = time.monotonic()
    Reply(cold(rest_event("GET", "/todos", headers=auth), context(28.0))).error(503, "database_unavailable")
    first = time.monotonic() - started
    started = time.monotonic()
    Reply(cold(rest_event("GET", "/todos", headers=auth), context(28.0))).error(503, "database_unavailable")
    second = time.monotonic() - started
    assert first < 4.0 <= second, (first, second)
    # Provisioned concurrency, or an on-demand environment Lambda initialised ahead of the request.
    provisioned = {**env, "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency"}
    ahead = time.monotonic()
    for early in (LambdaApp(provisioned, ahead - 4.0), LambdaApp(env, ahead - 4.0, ready=ahead - 3.0)):
        started = time.monotonic()
        Reply(early(rest_event("GET", "/todos", headers=auth), context(28.0))).error(503, "database_unavailable")
        assert time.monotonic() - started >= 4.0


# --- the deploy-time migration --------------------------------------------------------------


def test_migrate_applies_the_migrations_once(
    pg: PgServer, fresh_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in pg.db_env(fresh_db).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JWT_SECRET", raising=False)  # the migration function does not get it
    first = lambda_handler.migrate({}, context(300))
    assert first["applied"] == ["0001_users_and_todos.sql"] and first["seconds"] > 0
    second = lambda_handler.migrate({}, context(300))
    assert second["applied"] == []
    output = capsys.readouterr().out
    assert "applied 0001_users_and_todos.sql" in output
    assert pg.password not in output


def test_a_failing_migration_raises_with_its_name_and_the_databases_error(
    pg: PgServer, fresh_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in DEFAULT_DIR.glob("*.sql"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "0002_add_priority.sql").write_text("ALTER TABLE todos ADD COLUMN priority int;\nSELEC 1;\n")
    env = {**pg.db_env(fresh_db), "MIGRATIONS_DIR": str(tmp_path)}
    with pytest.raises(DeployStepError) as failure:
        run_deploy_steps(env, 60)
    message = str(failure.value)
    assert message.startswith("migrate: failed: "), message
    assert 'SyntaxError: syntax error at or near "SELEC"' in message, message
    with pg.connect(fresh_db) as conn:
        recorded = [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY version")]
        column = conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'todos' AND column_name = 'priority'"
        ).fetchone()
    assert recorded == ["0001_users_and_todos.sql"], "the good one stays applied"
    assert column == (0,), "the failing file was rolled back as a whole"
    assert pg.password not in capsys.readouterr().out + message


def test_an_edited_migration_is_refused_with_the_reason(pg: PgServer, fresh_db: str, tmp_path: Path) -> None:
    run_deploy_steps(pg.db_env(fresh_db), 60)
    edited = tmp_path / "0001_users_and_todos.sql"
    edited.write_text((DEFAULT_DIR / "0001_users_and_todos.sql").read_text() + "\n-- edited\n")
    refused = r"migrate: failed: .*0001_users_and_todos\.sql changed after it was applied"
    with pytest.raises(DeployStepError, match=refused):
        run_deploy_steps({**pg.db_env(fresh_db), "MIGRATIONS_DIR": str(tmp_path)}, 60)


def test_migrate_gives_up_within_its_budget_when_the_database_never_answers(pg: PgServer) -> None:
    env = {**pg.db_env("postgres"), "DB_PORT": str(free_port())}
    started = time.monotonic()
    with pytest.raises(DeployStepError, match=r"gave up after .* never accepted a TCP connection"):
        run_deploy_steps(env, 3)
    assert time.monotonic() - started < 10


def test_a_bad_setting_fails_the_deploy_step_naming_it(pg: PgServer) -> None:
    with pytest.raises(DeployStepError, match="deploy: bad setting: DB_SSLMODE must be one of"):
        run_deploy_steps({**pg.db_env("postgres"), "DB_SSLMODE": "sometimes"}, 10)


# --- measurements (printed, not asserted) ----------------------------------------------------


def test_measure_the_cost_of_a_connection_per_invocation(env: dict[str, str]) -> None:
    auth = list(sign_up(lambda event: Reply(LambdaApp(env, time.monotonic())(event, context()))).items())
    event = rest_event("GET", "/todos", headers=auth)

    def median_ms(keep_pool: bool, count: int = 31) -> float:
        serving = LambdaApp(env, time.monotonic())
        db = serving.app.extensions["db"]
        close = db.close
        if keep_pool:
            db.close = lambda: None  # the pool stays open between events, as on Fargate
        took = []
        for _ in range(count):
            started = time.perf_counter()
            assert Reply(serving(event, context())).status == 200
            took.append(time.perf_counter() - started)
        close()
        return statistics.median(took[1:]) * 1000

    closed, kept = median_ms(keep_pool=False), median_ms(keep_pool=True)
    REPORT.append(
        f"lambda: GET /todos per invocation (median of 30): {closed:.1f} ms closing the pool after each event, "
        f"{kept:.1f} ms keeping it: {closed - kept:.1f} ms per invocation for a new connection"
    )
