"""Lambda entry points of the same image: the app behind API Gateway, and the deploy-time migration.

The image's entry point stays the Fargate one; a Lambda function overrides it (see Dockerfile):
EntryPoint ``["python3", "-m", "awslambdaric"]`` with Command ``["app.lambda_handler.handler"]``
(serves API Gateway REST proxy events) or ``["app.lambda_handler.migrate"]`` (run once per deploy).

``handler``: apig-wsgi turns each REST (v1) proxy event into a WSGI request for the unchanged Flask
app (multiValueHeaders, multiValueQueryStringParameters, isBase64Encoded bodies) and the answer
back into the proxy response, base64 and ``isBase64Encoded`` only for binary content types.

- **One app per execution environment.** The modules are imported when Lambda loads this one (the
  init phase; done ahead under provisioned concurrency); the app is built from the environment on
  the first event and reused while the environment lives. A bad setting is answered as a JSON 500
  naming nothing secret, and logged with the variable's name.
- **Answered before the timeouts.** Each request's deadline (app/deadline.py) is the sooner of
  REQUEST_DEADLINE_SECONDS (25 s, counted for the first event of an on-demand environment from the
  moment the process started: API Gateway's 29 s clock was already running during the cold start)
  and the function's remaining time less ``DEADLINE_MARGIN_SECONDS``. A database that does
  not answer by then (paused Aurora still resuming, or down) gives 503 + ``Retry-After``, never a
  function timeout that API Gateway would turn into a bare 504.
- **No connection survives an invocation.** Lambda freezes the environment as soon as the handler
  returns, for minutes or hours: a pooled connection would stay open on the server the whole time
  and keep Aurora Serverless v2 from pausing, and the pool's own idle closer cannot run while
  frozen. So the pool is closed after every event; the next one opens a connection again.

``migrate``: the deploy-time step of app/boot.py, once per deploy: wait for (and so wake) the
database, the admin step when DB_ADMIN_USER is set, the pending migrations under the advisory lock.
Returns a small JSON summary; any failure raises ``DeployStepError`` whose message is the real
error, which the CDK trigger reports as the reason the deployment failed. It logs no secret.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import psycopg
from apig_wsgi import make_lambda_handler
from flask import Flask

# Every module the app uses is imported here, in Lambda's init phase, not by the first request.
from . import auth, boot, create_app, deadline, health, todos  # noqa: F401
from .config import ConfigError, Settings
from .db import Database
from .errors import error_body
from .migrate import Migration, MigrationError
from .migrate import migrate as apply_migrations

log = logging.getLogger(__name__)

# Kept free at the end of every invocation: closing the pool (up to 1 s when a connection attempt
# is still under way), turning the answer into the proxy response, handing it to Lambda.
DEADLINE_MARGIN_SECONDS = 2.0
# An event that reaches a fresh environment within this long of its being ready is the one that
# waited for the cold start; a later first event found it initialised ahead of time.
COLD_EVENT_GAP_SECONDS = 1.0
# The migration function also keeps this much of its timeout to raise a clear error itself.
MIGRATE_MARGIN_SECONDS = 5.0


class LambdaContext(Protocol):
    """The part of Lambda's context object used here."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds before Lambda stops this invocation."""


class DeployStepError(RuntimeError):
    """A deploy-time step failed; the message is the real error (no secret), shown by the trigger."""


def process_started() -> float:
    """When this process started, on the ``time.monotonic()`` clock (now, if Linux does not say).

    On a cold start the first request waited for all of it: the interpreter, the runtime client,
    every import and building the app.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            # Field 22, after the command name in parentheses: start time in clock ticks since boot.
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic()
    return time.monotonic() - max(0.0, age)


class LambdaApp:
    """The Flask app of one execution environment, serving REST proxy events.

    ``env`` is the environment contract (the same as on Fargate). ``started`` is when the
    environment's process started and ``ready`` when it was ready for events (``time.monotonic()``;
    default: now). When Lambda started the environment for the event it then hands over
    (``AWS_LAMBDA_INITIALIZATION_TYPE`` ``on-demand``, and the event comes right when the
    environment is ready), the cold start counts against that request's deadline: API Gateway's 29 s
    were running all along. An environment initialised ahead of time (provisioned concurrency, or
    Lambda's occasional early initialisation of on-demand ones) made nobody wait.
    """

    def __init__(self, env: Mapping[str, str], started: float, ready: float | None = None) -> None:
        self._env = env
        on_demand = env.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand") == "on-demand"
        self._cold_since: float | None = started if on_demand else None
        self._ready = time.monotonic() if ready is None else ready
        self._serving: tuple[Flask, Callable[[dict[str, Any], Any], dict[str, Any]]] | None = None

    @property
    def app(self) -> Flask:
        """The Flask app, built from the environment on first use."""
        return self._serve()[0]

    def _serve(self) -> tuple[Flask, Callable[[dict[str, Any], Any], dict[str, Any]]]:
        if self._serving is None:
            app = create_app(Settings.from_env(self._env))
            # binary_support: a response whose Content-Type is neither text nor JSON goes back in
            # base64 with isBase64Encoded (API Gateway decodes it for the API's binaryMediaTypes).
            self._serving = (app, make_lambda_handler(app, binary_support=True))
        return self._serving

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Answer one REST proxy event."""
        received = time.monotonic()
        if not isinstance(event, dict) or "httpMethod" not in event:
            raise ValueError("not an API Gateway REST proxy event (no httpMethod)")
        try:
            app, adapter = self._serve()
        except ConfigError as exc:
            log.error("lambda: bad setting: %s", exc)
            return _json_response(event, 500, "internal_error", "The service is not configured correctly.")
        settings: Settings = app.extensions["settings"]
        db: Database = app.extensions["db"]
        waited = 0.0
        if self._cold_since is not None:
            if received - self._ready <= COLD_EVENT_GAP_SECONDS:
                waited = max(0.0, received - self._cold_since)
            self._cold_since = None
        left = context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
        # app/deadline.py counts REQUEST_DEADLINE_SECONDS from the request's arrival: place the
        # arrival so that the deadline is the sooner of that and the function's own end.
        deadline.mark_arrival(received - max(waited, settings.request_deadline_seconds - left))
        try:
            return adapter(event, context)
        finally:
            db.close()


def _json_response(event: dict[str, Any], status: int, code: str, message: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    response: dict[str, Any] = {
        "statusCode": status,
        "body": error_body(code, message).decode(),
        "isBase64Encoded": False,
    }
    if "multiValueHeaders" in event:
        response["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    else:
        response["headers"] = headers
    return response


_ENVIRONMENT = LambdaApp(os.environ, process_started())


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The serving function's handler: one API Gateway REST proxy event in, its proxy response out."""
    return _ENVIRONMENT(event, context)


def run_deploy_steps(env: Mapping[str, str], budget_seconds: float) -> dict[str, Any]:
    """The deploy-time step within ``budget_seconds``: a summary, or DeployStepError with the real error.

    The wait for the database lasts at most DB_WAKE_DEADLINE_SECONDS and never past the budget.
    ``boot.deploy`` (the admin step when DB_ADMIN_USER is set, then the migrations as the app's
    role) does the work where app/boot.py has it; otherwise the boot's own steps without serving.
    """
    try:
        wake_seconds = max(1, int(min(_wake_deadline(env), budget_seconds)))
    except ConfigError as exc:
        raise DeployStepError(f"deploy: bad setting: {exc}") from exc
    env = {**env, "DB_WAKE_DEADLINE_SECONDS": str(wake_seconds)}
    started = time.monotonic()
    deploy: Callable[[Mapping[str, str]], list[str]] = getattr(boot, "deploy", _boot_steps_without_serving)
    failure: type[Exception] = getattr(boot, "StepFailedError", DeployStepError)
    try:
        applied = deploy(env)
    except DeployStepError:
        raise
    except failure as exc:
        raise DeployStepError(str(exc)) from exc
    return {"applied": applied, "seconds": round(time.monotonic() - started, 3)}


def _boot_steps_without_serving(env: Mapping[str, str]) -> list[str]:
    """Check the image and settings, wait for (wake) the database, migrate: app/boot.py's steps."""
    env = dict(env)
    # The image check builds the app, which needs a signing key; this step signs no token.
    env.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
    try:
        settings, migrations = boot.check_image(env)
    except ConfigError as exc:
        raise DeployStepError(f"deploy: bad setting: {exc}") from exc
    except Exception as exc:  # an import error, a malformed migration file: the image is broken
        raise DeployStepError(f"deploy: the image is broken: {type(exc).__name__}: {exc}") from exc
    waiter = boot.Waiter(settings, _wake_deadline(env))
    target = f"{settings.db_host}:{settings.db_port}"
    boot.say(f"deploy: waiting up to {waiter.deadline_seconds} s for PostgreSQL at {target}")
    if not waiter.tcp():
        raise DeployStepError(f"deploy: gave up after {waiter.elapsed()} s: {target} never accepted a TCP connection")
    conn = waiter.connect()
    if conn is None:
        raise DeployStepError(f"deploy: gave up after {waiter.elapsed()} s: the database did not answer SELECT 1")
    with conn:
        try:
            applied = apply_migrations(conn, migrations, say=boot.say)
        except (MigrationError, psycopg.Error) as exc:
            failed = _first_pending(conn, migrations) if isinstance(exc, psycopg.Error) else None
            where = f"{failed}: " if failed else ""
            raise DeployStepError(f"migrate: failed: {where}{type(exc).__name__}: {str(exc).strip()}") from exc
    boot.say(f"migrate: done, {len(applied)} applied, {len(migrations)} in total")
    return applied


def _wake_deadline(env: Mapping[str, str]) -> int:
    raw = env.get("DB_WAKE_DEADLINE_SECONDS", "").strip() or "120"
    if not raw.isdigit() or int(raw) == 0:
        raise ConfigError(f"DB_WAKE_DEADLINE_SECONDS must be a positive number of seconds, got {raw!r}")
    return int(raw)


def _first_pending(conn: psycopg.Connection[Any], migrations: list[Migration]) -> str | None:
    """The first migration not recorded: the one whose transaction just failed and rolled back."""
    try:
        recorded = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    except psycopg.Error:
        return None
    return next((m.name for m in migrations if m.version not in recorded), None)


def migrate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The migration function's handler, invoked by the deploy's trigger (the event is not used).

    Returns ``{"applied": [names], "seconds": duration}``; raises DeployStepError with the real
    error, which the trigger shows as the reason the deployment failed.
    """
    budget = context.get_remaining_time_in_millis() / 1000 - MIGRATE_MARGIN_SECONDS
    return run_deploy_steps(os.environ, max(1.0, budget))
