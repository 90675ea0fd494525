"""The image's Lambda entry point as Lambda runs it: ``python3 -m awslambdaric app.lambda_handler.<name>``.

The runtime interface client is the real one from requirements.txt; what it talks to is a small
implementation of the documented Lambda Runtime API (``GET /2018-06-01/runtime/invocation/next``,
``POST .../invocation/{id}/response`` and ``.../error``, ``POST .../init/error``), which hands it
REST proxy events with a deadline, as Lambda does. Freezing the execution environment between
events is SIGSTOP: whatever the process still holds open then would stay open on the database.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.migrate import DEFAULT_DIR

from .conftest import APP_DIR, JWT_SECRET, PASSWORD, REPORT
from .lambda_events import Reply, rest_event
from .pgcluster import PgServer
from .test_lambda_handler import connections

PREFIX = "/2018-06-01/runtime"

# Loaded by the function's interpreter before anything else (PYTHONPATH): records every file the
# process opens for writing, creates, renames or removes outside /tmp and /dev. Lambda's file
# system is read-only but for /tmp, so the list must stay empty.
WRITE_WATCH = """
import os, sys
_log = os.open(os.environ["WRITE_WATCH_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

def _outside(path):
    path = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
    return bool(path) and not os.path.abspath(path).startswith(("/tmp/", "/dev/", "/proc/self/"))

def _watch(event, args):
    hit = None
    if event == "open" and args:
        path, mode, flags = (list(args) + [None, None])[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writes and _outside(path):
            hit = path
    elif event in ("os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link", "os.truncate"):
        if args and _outside(args[0]):
            hit = args[0]
    if hit is not None:
        os.write(_log, (event + " " + os.fsdecode(hit) + "\\n").encode())

sys.addaudithook(_watch)
"""


class RuntimeApi:
    """The Lambda Runtime API for one execution environment: events in, results out."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
        self.results: dict[str, tuple[str, Any]] = {}
        self.init_error: Any = None
        self.next_calls = 0
        self._done = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404)
                    return
                with api._done:
                    api.next_calls += 1
                    api._done.notify_all()
                request_id, body, deadline_ms = api.events.get()
                self._reply(
                    200,
                    body,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:ap-southeast-1:123456789012:function:f",
                        "Lambda-Runtime-Trace-Id": "Root=1-5e1b4151-5ac6c58f5c1f6c1c5a1b2c3d;Sampled=0",
                    },
                )

            def do_POST(self) -> None:
                body = self._body()
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = json.loads(body)
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    with api._done:
                        api.results[parts[1]] = (parts[2], json.loads(body))
                        api._done.notify_all()
                else:
                    self._reply(404)
                    return
                self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        """host:port, the value of AWS_LAMBDA_RUNTIME_API."""
        return f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, event: dict[str, Any], timeout_seconds: float = 29.0) -> tuple[str, Any]:
        """Hand one event to the runtime client; wait for ("response" | "error", payload)."""
        request_id = str(uuid.uuid4())
        self.events.put((request_id, json.dumps(event).encode(), int((time.time() + timeout_seconds) * 1000)))
        with self._done:
            if not self._done.wait_for(lambda: request_id in self.results, timeout=timeout_seconds + 30):
                raise AssertionError(f"no result for {request_id} within {timeout_seconds + 30} s")
            return self.results.pop(request_id)

    def wait_idle(self, calls: int, timeout: float = 10.0) -> None:
        """Wait until the runtime client asked for its ``calls``-th event: the last one is finished."""
        with self._done:
            assert self._done.wait_for(lambda: self.next_calls >= calls, timeout=timeout)

    def close(self) -> None:
        """Stop serving (a runtime client blocked on /next just loses its connection)."""
        self.server.shutdown()
        self.server.server_close()


class Function:
    """One execution environment: the runtime client process with a handler and an environment."""

    def __init__(self, handler: str, env: dict[str, str], tmp: Path) -> None:
        self.api = RuntimeApi()
        name = handler.rsplit(".", 1)[1]
        self.log_path = tmp / f"{name}.log"
        watch = tmp / f"{name}-watch"
        watch.mkdir()
        (watch / "sitecustomize.py").write_text(WRITE_WATCH)
        self.writes_path = tmp / f"{name}-writes.log"
        self._log = self.log_path.open("w")
        self.env = {
            "PATH": os.environ["PATH"],
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "f",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": "ap-southeast-1",
            "PYTHONPATH": str(watch),
            "WRITE_WATCH_LOG": str(self.writes_path),
            **env,
        }
        self.started = time.monotonic()
        # The image's override: EntryPoint python3 -m awslambdaric, Command the handler; WORKDIR /app.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", handler],
            cwd=APP_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def output(self) -> str:
        """What the function logged."""
        return self.log_path.read_text()

    @property
    def writes(self) -> list[str]:
        """Files written, created or removed outside /tmp so far."""
        return self.writes_path.read_text().splitlines() if self.writes_path.exists() else []

    def close(self) -> None:
        """Kill the environment (a frozen one too) and stop the Runtime API."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
        self.api.close()
        self._log.close()


@pytest.fixture
def functions(tmp_path: Path) -> Iterator[list[Function]]:
    """Execution environments a test started, ended whatever happened."""
    started: list[Function] = []
    yield started
    for function in started:
        function.close()


def test_the_serving_function_answers_proxy_events_and_holds_no_connection_while_frozen(
    functions: list[Function], tmp_path: Path, pg: PgServer, shared_db: str
) -> None:
    application_name = f"lambda-ric-{uuid.uuid4().hex[:8]}"
    env = {**pg.db_env(shared_db), "JWT_SECRET": JWT_SECRET, "DB_APPLICATION_NAME": application_name}
    function = Function("app.lambda_handler.handler", env, tmp_path)
    functions.append(function)
    kind, health = function.api.invoke(rest_event("GET", "/health"))
    cold_start = time.monotonic() - function.started
    assert kind == "response", health
    assert (Reply(health).status, Reply(health).json()) == (200, {"status": "ok"})

    credentials = {"username": f"ric_{uuid.uuid4().hex[:12]}", "password": PASSWORD}
    assert Reply(function.api.invoke(rest_event("POST", "/auth/register", json_body=credentials))[1]).status == 201
    login = Reply(function.api.invoke(rest_event("POST", "/auth/login", json_body=credentials))[1])
    auth = [("Authorization", f"Bearer {login.json()['access_token']}")]
    created = Reply(function.api.invoke(rest_event("POST", "/todos", headers=auth, json_body={"title": "x"}))[1])
    assert created.status == 201, created.raw
    timings = []
    for _ in range(10):
        started = time.monotonic()
        listed = Reply(function.api.invoke(rest_event("GET", "/todos", headers=auth))[1])
        timings.append(time.monotonic() - started)
        assert listed.status == 200 and listed.json()["total"] == 1

    # Lambda freezes the environment once the result is posted and the client asks for the next event.
    function.api.wait_idle(calls=15)
    function.proc.send_signal(signal.SIGSTOP)
    try:
        assert connections(pg, application_name) == 0
    finally:
        function.proc.send_signal(signal.SIGCONT)
    again = Reply(function.api.invoke(rest_event("GET", "/todos", headers=auth))[1])
    assert again.status == 200, "the thawed environment connects again"
    assert function.api.init_error is None
    assert function.writes == [], "Lambda's file system is read-only outside /tmp"
    assert "Traceback" not in function.output and JWT_SECRET not in function.output
    REPORT.append(
        f"lambda (runtime client): cold start to the first answer {cold_start:.2f} s (process start, imports, "
        f"app, /health); GET /todos warm, connecting each time: median {sorted(timings)[5] * 1000:.0f} ms"
    )


def test_the_migration_function_reports_a_failing_migration_as_the_invocation_error(
    functions: list[Function], tmp_path: Path, pg: PgServer, fresh_db: str
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for path in DEFAULT_DIR.glob("*.sql"):
        (migrations / path.name).write_text(path.read_text())
    env = {**pg.db_env(fresh_db), "MIGRATIONS_DIR": str(migrations)}
    function = Function("app.lambda_handler.migrate", env, tmp_path)
    functions.append(function)
    # What a CDK trigger sends: the custom resource's request, which the function ignores.
    event = {"RequestType": "Create", "ResourceProperties": {"HandlerArn": "arn:aws:lambda:...:f"}}
    kind, summary = function.api.invoke(event, timeout_seconds=300)
    assert kind == "response", summary
    assert summary["applied"] == ["0001_users_and_todos.sql"]

    (migrations / "0002_broken.sql").write_text("CREATE TABLE later (id int);\nSELECT no_such_column FROM todos;\n")
    kind, error = function.api.invoke(event, timeout_seconds=300)
    assert kind == "error"
    assert error["errorType"] == "DeployStepError"
    assert error["errorMessage"].startswith("migrate: failed: "), error
    assert 'UndefinedColumn: column "no_such_column" does not exist' in error["errorMessage"], error
    assert pg.password not in json.dumps(error) and pg.password not in function.output
    with pg.connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regclass('later')").fetchone() == (None,), "rolled back"
    assert function.writes == []
