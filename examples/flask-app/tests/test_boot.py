"""The boot kit for real: docker/entrypoint.sh (check, wait, migrate with app/boot.py; exec gunicorn)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import APP_DIR, JWT_SECRET, PASSWORD, REPORT
from .pgcluster import PgCluster, PgServer, free_port

ENTRYPOINT = APP_DIR / "docker" / "entrypoint.sh"


def boot_env(server: PgServer, dbname: str = "postgres", **extra: str) -> dict[str, str]:
    """The container's environment: the contract, with the test virtualenv first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        **server.db_env(dbname),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(free_port()),
        **extra,
    }


class Boot:
    """A boot-kit process with its output in a file (a pipe could fill up and block it)."""

    def __init__(self, command: list[str], env: dict[str, str], tmp: Path) -> None:
        self.log_path = tmp / "boot.log"
        self._log = self.log_path.open("w")
        self.env = env
        self.started = time.monotonic()
        self.proc = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=tmp)

    @property
    def output(self) -> str:
        """Everything printed so far."""
        return self.log_path.read_text()

    @property
    def url(self) -> str:
        """Where gunicorn listens."""
        return f"http://127.0.0.1:{self.env['PORT']}"

    def wait(self, timeout: float) -> int:
        """The exit status; fails the test if the process runs past ``timeout``."""
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        """Kill whatever is left."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def boots(tmp_path: Path) -> Iterator[list[Boot]]:
    """Boot processes started by a test, killed at the end whatever happened."""
    started: list[Boot] = []
    yield started
    for boot in started:
        boot.close()


def _wait_http(url: str, deadline: float) -> requests.Response:
    while True:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _connections(pg: PgServer, application_name: str) -> int:
    with pg.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,))
        return int(row.fetchone()[0])  # type: ignore[index]


def test_boot_waits_for_a_database_that_starts_10s_later_then_serves_and_stops_on_sigterm(
    boots: list[Boot], tmp_path: Path
) -> None:
    cluster = PgCluster().init()
    try:
        env = boot_env(
            cluster.server,
            DB_WAKE_DEADLINE_SECONDS="60",
            DB_POOL_MAX_IDLE_SECONDS="2",
            DB_APPLICATION_NAME="boot-test",
        )
        boot = Boot(["bash", str(ENTRYPOINT)], env, tmp_path)
        boots.append(boot)
        timer = threading.Timer(10.0, cluster.start)
        timer.start()
        health = _wait_http(f"{boot.url}/health", time.monotonic() + 45)
        timer.join()
        boot_seconds = time.monotonic() - boot.started
        assert health.status_code == 200 and health.json() == {"status": "ok"}

        woke = re.search(r"woke after ([0-9.]+) s", boot.output)
        assert woke, boot.output
        wake_seconds = float(woke.group(1))
        # Counted from the boot's own start, after the interpreter and the image check.
        assert boot_seconds >= 10.0 and 5.0 <= wake_seconds < 20.0, boot.output
        assert "applied 0001_users_and_todos.sql" in boot.output
        REPORT.append(
            f"boot: database started 10 s late; the boot woke after {wake_seconds} s, "
            f"gunicorn served after {boot_seconds:.1f} s"
        )
        print(f"wake time measured by the boot: {wake_seconds} s")

        # The shell exec'd the boot, which runs gunicorn itself: the process ECS signals is the server.
        cmdline = Path(f"/proc/{boot.proc.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1:4] == [b"-m", b"app.boot", b"serve"], cmdline
        assert "Starting gunicorn" in boot.output and f"({boot.proc.pid})" in boot.output

        # The API works over HTTP against the real database.
        credentials = {"username": "boot_user", "password": PASSWORD}
        assert requests.post(f"{boot.url}/auth/register", json=credentials, timeout=10).status_code == 201
        token = requests.post(f"{boot.url}/auth/login", json=credentials, timeout=10).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        created = requests.post(f"{boot.url}/todos", json={"title": "from gunicorn"}, headers=auth, timeout=10)
        assert created.status_code == 201
        assert requests.get(f"{boot.url}/todos", headers=auth, timeout=10).json()["total"] == 1
        assert requests.get(f"{boot.url}/nope", timeout=10).json()["error"]["code"] == "not_found"

        # Idle: the connections close after DB_POOL_MAX_IDLE_SECONDS; health checks open none.
        assert _connections(cluster.server, "boot-test") >= 1
        deadline = time.monotonic() + 8
        while _connections(cluster.server, "boot-test") and time.monotonic() < deadline:
            requests.get(f"{boot.url}/health", timeout=5)
            time.sleep(0.5)
        assert _connections(cluster.server, "boot-test") == 0

        boot.proc.send_signal(signal.SIGTERM)
        assert boot.wait(timeout=25) == 0, boot.output
        assert "Handling signal: term" in boot.output or "Shutting down" in boot.output
    finally:
        cluster.destroy()


def test_boot_gives_up_with_a_clear_message_when_the_database_never_comes(
    boots: list[Boot], pg: PgServer, tmp_path: Path
) -> None:
    server = PgServer("127.0.0.1", free_port(), pg.user, pg.password)
    boot = Boot(["bash", str(ENTRYPOINT)], boot_env(server, DB_WAKE_DEADLINE_SECONDS="3"), tmp_path)
    boots.append(boot)
    status = boot.wait(timeout=15)
    assert status != 0
    assert re.search(r"gave up after 3\.\d s: 127\.0\.0\.1:\d+ never accepted a TCP connection", boot.output), (
        boot.output
    )
    assert "starting gunicorn" not in boot.output
    REPORT.append(f"boot: no database, 3 s deadline -> exit {status} after {time.monotonic() - boot.started:.1f} s")


def test_boot_gives_up_when_the_port_answers_but_no_database_does(boots: list[Boot], tmp_path: Path) -> None:
    # Something accepts TCP and hangs up at once: the port check passes, SELECT 1 never does.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    stop = threading.Event()

    def hang_up() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        server = PgServer("127.0.0.1", port, "postgres", "x")
        boot = Boot(["bash", str(ENTRYPOINT)], boot_env(server, DB_WAKE_DEADLINE_SECONDS="5"), tmp_path)
        boots.append(boot)
        assert boot.wait(timeout=20) == 124
        output = boot.output
        assert "accepts TCP connections" in output
        assert re.search(r"attempt 2: SELECT 1 failed", output), output
        # The backoff is capped at 1 s: a database that comes back is noticed within a second.
        assert re.search(r"retrying in 1\.00 s", output) and "retrying in 2" not in output, output
        assert re.search(r"gave up after [5-7]\.\d s: the database did not answer SELECT 1", output), output
        assert "starting gunicorn" not in output
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_sigterm_while_waiting_stops_the_boot_at_once(boots: list[Boot], pg: PgServer, tmp_path: Path) -> None:
    server = PgServer("127.0.0.1", free_port(), pg.user, pg.password)
    boot = Boot(["bash", str(ENTRYPOINT)], boot_env(server, DB_WAKE_DEADLINE_SECONDS="60"), tmp_path)
    boots.append(boot)
    time.sleep(2)
    signalled = time.monotonic()
    boot.proc.send_signal(signal.SIGTERM)
    assert boot.wait(timeout=10) == 143
    assert time.monotonic() - signalled < 3
    assert "stopped by a signal" in boot.output


def test_a_broken_image_fails_at_once_with_the_real_error(boots: list[Boot], pg: PgServer, tmp_path: Path) -> None:
    # Flask missing from the image: with the database away too, this must not look like a wait.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "flask.py").write_text("raise ImportError(\"No module named 'flask'\")\n")
    server = PgServer("127.0.0.1", free_port(), pg.user, pg.password)
    boot = Boot(["bash", str(ENTRYPOINT)], boot_env(server, PYTHONPATH=str(shadow)), tmp_path)
    boots.append(boot)
    assert boot.wait(timeout=20) == 2
    assert time.monotonic() - boot.started < 10
    assert "boot: the image is broken: ImportError: No module named 'flask'" in boot.output, boot.output
    assert "waiting up to" not in boot.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DB_NAME": None}, "boot: bad setting: DB_NAME is required but not set"),
        ({"JWT_SECRET": "short"}, "boot: bad setting: JWT_SECRET must be at least 32 bytes"),
        ({"DB_WAKE_DEADLINE_SECONDS": "soon"}, "boot: bad setting: DB_WAKE_DEADLINE_SECONDS must be a positive"),
        ({"REQUEST_DEADLINE_SECONDS": "40"}, "boot: bad setting: REQUEST_DEADLINE_SECONDS must be between 1 and 27"),
    ],
)
def test_a_bad_setting_fails_at_once_naming_it(
    change: dict[str, str | None], message: str, pg: PgServer, tmp_path: Path
) -> None:
    env = boot_env(pg)
    for name, value in change.items():
        if value is None:
            del env[name]
        else:
            env[name] = value
    result = subprocess.run(
        ["bash", str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stdout, result.stdout
    assert "waiting up to" not in result.stdout


def test_skip_migrations_waits_but_does_not_migrate(pg: PgServer, fresh_db: str, tmp_path: Path) -> None:
    env = boot_env(pg, fresh_db, SKIP_MIGRATIONS="1")
    result = subprocess.run(
        [sys.executable, "-m", "app.boot"], env=env, capture_output=True, text=True, timeout=30, cwd=APP_DIR
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "woke after" in result.stdout and "not migrating" in result.stdout
    with pg.connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)
