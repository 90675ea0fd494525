"""Fault experiments on the real boot kit, gunicorn and a PostgreSQL server they stop and start.

Each experiment returns what it measured; tests/test_faults.py asserts on it and prints the
numbers. Every experiment runs the image's own entry point (docker/entrypoint.sh) with the
image's gunicorn.conf.py, talks to it over HTTP like a client would, and stops or starts the
database with pg_ctl, as a paused or failing-over Aurora does to the app.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .conftest import PASSWORD
from .pgcluster import PgCluster

APP_DIR = Path(__file__).resolve().parent.parent
ENTRYPOINT = APP_DIR / "docker" / "entrypoint.sh"


class Server:
    """docker/entrypoint.sh (wait, migrate, exec gunicorn); each output line stamped when it arrives."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(
            ["bash", str(ENTRYPOINT)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    @property
    def url(self) -> str:
        """Where gunicorn listens."""
        return f"http://127.0.0.1:{self.env['PORT']}"

    @property
    def port(self) -> int:
        """gunicorn's port."""
        return int(self.env["PORT"])

    @property
    def output(self) -> str:
        """Everything printed so far."""
        return "\n".join(line for _, line in self.lines)

    def first_line(self, needle: str) -> float | None:
        """When the first line containing ``needle`` was printed."""
        return next((at for at, line in self.lines if needle in line), None)

    def wait_healthy(self, timeout: float = 30.0, interval: float = 0.02) -> float:
        """The moment /health first answered 200."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return time.monotonic()
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no /health within {timeout} s:\n{self.output}")
            time.sleep(interval)

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM, as ECS sends it; the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        """Kill whatever is left."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)


def sign_in(url: str, username: str) -> dict[str, str]:
    """Register a user, log in, create one todo; the Authorization header."""
    credentials = {"username": username, "password": PASSWORD}
    assert requests.post(f"{url}/auth/register", json=credentials, timeout=30).status_code == 201
    token = requests.post(f"{url}/auth/login", json=credentials, timeout=30).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.post(f"{url}/todos", json={"title": "fault"}, headers=headers, timeout=30).status_code == 201
    return headers


@dataclass
class Call:
    """One HTTP request: when it started, how long it took, its status (None: no response)."""

    started: float
    seconds: float
    status: int | None
    retry_after: str | None = None
    error: str = ""


def timed_get(url: str, headers: dict[str, str] | None = None, timeout: float = 60.0) -> Call:
    """GET with a fresh connection; a connection error is recorded as no response."""
    started = time.monotonic()
    try:
        response = requests.get(url, headers=headers, timeout=timeout)
        return Call(started, time.monotonic() - started, response.status_code, response.headers.get("Retry-After"))
    except requests.RequestException as exc:
        return Call(started, time.monotonic() - started, None, error=type(exc).__name__)


@dataclass
class OutageResult:
    """What clients saw while the database was away."""

    outage_seconds: float
    health: list[Call] = field(default_factory=list)
    ready: list[Call] = field(default_factory=list)
    api: list[Call] = field(default_factory=list)

    def during(self, calls: list[Call], start: float, end: float) -> list[Call]:
        """The calls started between ``start`` and ``end``."""
        return [c for c in calls if start <= c.started <= end]


def outage(
    server: Server, cluster: PgCluster, headers: dict[str, str], seconds: float = 40.0, clients: int = 8
) -> tuple[OutageResult, float, float]:
    """Stop the database for ``seconds`` while ``clients`` loop on GET /todos; /health and /ready polled."""
    result = OutageResult(seconds)
    stop_load = threading.Event()

    def api_client() -> None:
        while not stop_load.is_set():
            result.api.append(timed_get(f"{server.url}/todos", headers))

    def poll(path: str, calls: list[Call], every: float) -> None:
        while not stop_load.is_set():
            calls.append(timed_get(f"{server.url}{path}", timeout=60))
            time.sleep(every)

    threads = [threading.Thread(target=api_client, daemon=True) for _ in range(clients)]
    threads.append(threading.Thread(target=poll, args=("/health", result.health, 0.25), daemon=True))
    threads.append(threading.Thread(target=poll, args=("/ready", result.ready, 1.0), daemon=True))
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    cluster.stop()
    down = time.monotonic()
    time.sleep(seconds)
    cluster.start()
    up = time.monotonic()
    time.sleep(3.0)
    stop_load.set()
    for thread in threads:
        thread.join(timeout=90)
    return result, down, up


@dataclass
class ShutdownResult:
    """Requests in flight when SIGTERM arrived, and what became of them."""

    calls: list[Call]
    exit_status: int
    stop_seconds: float

    @property
    def dropped(self) -> int:
        """Requests that got no HTTP response at all."""
        return sum(1 for c in self.calls if c.status is None)


def shutdown_while_waiting(
    server: Server, cluster: PgCluster, headers: dict[str, str], requests_: int = 4
) -> ShutdownResult:
    """With the database away, send requests, then SIGTERM the server while they wait for it."""
    calls: list[Call] = []
    cluster.stop()
    threads = [
        threading.Thread(target=lambda: calls.append(timed_get(f"{server.url}/todos", headers, 60)), daemon=True)
        for _ in range(requests_)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    signalled = time.monotonic()
    status = server.stop(timeout=60)
    stop_seconds = time.monotonic() - signalled
    for thread in threads:
        thread.join(timeout=60)
    cluster.start()
    return ShutdownResult(calls, status, stop_seconds)


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes, read until the server closes or ``timeout``; what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


@dataclass
class SlowClientResult:
    """/health while slow clients hold connections, and what the slow clients got."""

    health: list[Call]
    slow_answers: list[tuple[float | None, bytes]]


def slow_clients(server: Server, count: int = 8, watch_seconds: float = 15.0) -> SlowClientResult:
    """Open ``count`` connections that announce a 100-byte body and send 6 bytes of it, then stall."""
    socks = []
    opened = time.monotonic()
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=watch_seconds)
        sock.sendall(
            b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"a":'
        )
        socks.append(sock)
    time.sleep(0.5)
    health = [timed_get(f"{server.url}/health", timeout=10) for _ in range(5)]
    answers: list[tuple[float | None, bytes]] = []
    for sock in socks:
        sock.settimeout(max(0.1, opened + watch_seconds - time.monotonic()))
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
            answers.append((time.monotonic() - opened, data))
        except TimeoutError:
            answers.append((None, data))
        except OSError:
            answers.append((time.monotonic() - opened, data))
        sock.close()
    return SlowClientResult(health, answers)


@dataclass
class BootResult:
    """Boot overhead once the database answers, and its split."""

    db_up: float
    woke: float | None
    migrated: float | None
    gunicorn_started: float | None
    served: float

    @property
    def overhead(self) -> float:
        """From the database accepting connections to the first /health 200."""
        return self.served - self.db_up

    def split(self) -> str:
        """The parts of the overhead, as printed in the report."""

        def part(a: float | None, b: float | None) -> str:
            return "?" if a is None or b is None else f"{b - a:.2f}"

        return (
            f"noticing the database {part(self.db_up, self.woke)} s, "
            f"migrations {part(self.woke, self.migrated)} s, "
            f"gunicorn start {part(self.migrated, self.served)} s"
        )


def boot_after(
    server_factory: Callable[[], Server], cluster: PgCluster, delay: float = 3.0
) -> tuple[Server, BootResult]:
    """Start the boot kit with the database down, start the database ``delay`` s later."""
    server = server_factory()
    time.sleep(delay)
    cluster.start()
    db_up = time.monotonic()
    served = server.wait_healthy(timeout=60, interval=0.01)
    return server, BootResult(
        db_up,
        server.first_line("woke after"),
        server.first_line("schema up to date") or server.first_line("migrate: done"),
        server.first_line("starting gunicorn"),
        served,
    )
