"""The fault harness: the image's entry point and gunicorn against a PostgreSQL server it stops.

A paused, resuming or failing-over Aurora is normal operation, so these run the real thing
(tests/faultkit.py): a 40 s outage under load, SIGTERM while requests wait for the database,
slow clients, malformed requests gunicorn answers itself, and a boot that waits for the
database. The numbers are printed in the run's "measurements" section; the assertions check
behaviour (answered or not, within the deadline or not), with generous margins for a busy CI box.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import REPORT
from .faultkit import Server, boot_after, outage, raw_request, shutdown_while_waiting, sign_in, slow_clients
from .pgcluster import PgCluster, free_port
from .test_boot import boot_env

DEADLINE = 25.0  # REQUEST_DEADLINE_SECONDS' default: the tests run the image's defaults
READ_TIMEOUT = "2"  # REQUEST_READ_TIMEOUT_SECONDS, short so the slow-client test is quick


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    """A PostgreSQL server of this module's own: the tests stop and start it."""
    own = PgCluster().init().start()
    try:
        yield own
    finally:
        own.destroy()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers a test started, killed at the end whatever happened."""
    started: list[Server] = []
    yield started
    for server in started:
        server.close()


def start(servers: list[Server], cluster: PgCluster, tmp_path: Path, **extra: str) -> Server:
    """The entry point with the image's settings on the module's database; waits for /health."""
    env = boot_env(cluster.server, REQUEST_READ_TIMEOUT_SECONDS=READ_TIMEOUT, **extra)
    env["PORT"] = str(free_port())
    server = Server(env, tmp_path)
    servers.append(server)
    server.wait_healthy(timeout=60)
    return server


def assert_json_error(raw: bytes, status: int, code: str) -> None:
    """A raw HTTP answer with this status and the app's JSON error shape."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), raw[:300]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == "application/json", raw[:300]
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and error["code"] == code, error
    assert b"<html" not in raw and b"Traceback" not in raw


# One server for the quick tests of the server layer.
@pytest.fixture(scope="module")
def server(cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A running server on the module's database."""
    tmp = tmp_path_factory.mktemp("server")
    env = boot_env(cluster.server, REQUEST_READ_TIMEOUT_SECONDS=READ_TIMEOUT)
    env["PORT"] = str(free_port())
    running = Server(env, tmp)
    try:
        running.wait_healthy(timeout=60)
        yield running
    finally:
        running.close()


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n", 431, "headers_too_large"),
        (
            b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
            "bad_request",
        ),
        (b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "bad_request"),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "bad_request"),
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "bad_request"),
    ],
    ids=[
        "url-10000",
        "header-10000",
        "content-length-and-transfer-encoding",
        "negative-length",
        "gzip-without-chunked",
        "junk",
    ],
)
def test_errors_gunicorn_answers_itself_have_the_json_shape(
    server: Server, request_bytes: bytes, status: int, code: str
) -> None:
    assert_json_error(raw_request(server.port, request_bytes), status, code)


def test_a_python_client_sending_5_mb_reads_the_413(server: Server) -> None:
    response = requests.post(
        f"{server.url}/auth/login", data=b"x" * 5_000_000, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    # The connection still works afterwards (the body was read and discarded).
    assert requests.get(f"{server.url}/health", timeout=5).status_code == 200


def test_slow_clients_cannot_starve_the_app(server: Server) -> None:
    # More stalled half-sent bodies than the old server had threads (4).
    result = slow_clients(server, count=8, watch_seconds=float(READ_TIMEOUT) + 8)
    assert [c.status for c in result.health] == [200] * len(result.health)
    slowest_health = max(c.seconds for c in result.health)
    assert slowest_health < 2.0, result.health
    for seconds, answer in result.slow_answers:
        assert seconds is not None and seconds < float(READ_TIMEOUT) + 3, (seconds, answer[:200])
        assert_json_error(answer, 408, "request_timeout")
    REPORT.append(
        f"faults: 8 slow clients -> /health slowest {slowest_health * 1000:.0f} ms; each slow client got 408 after "
        f"{max(s for s, _ in result.slow_answers if s is not None):.1f} s (REQUEST_READ_TIMEOUT_SECONDS={READ_TIMEOUT})"
    )


def test_a_40s_outage_blocks_neither_health_nor_ready_and_every_answer_comes_within_the_deadline(
    servers: list[Server], cluster: PgCluster, tmp_path: Path
) -> None:
    server = start(servers, cluster, tmp_path, DB_APPLICATION_NAME="outage")
    headers = sign_in(server.url, "outage_user")
    result, down, up = outage(server, cluster, headers, seconds=40.0, clients=8)

    health = result.during(result.health, down, up)
    assert len(health) > 20 and all(c.status == 200 for c in health), Counter(c.status for c in health)
    health_max = max(c.seconds for c in health)
    assert health_max < 2.0, "the load balancer's check must not wait for the database"

    ready = result.during(result.ready, down + 0.5, up - 5)
    assert ready and all(c.status == 503 and c.retry_after for c in ready), [(c.status, c.seconds) for c in ready]
    ready_max = max(c.seconds for c in ready)
    assert ready_max < 5.0

    api = result.during(result.api, down - 1, up)
    longest = max(c.seconds for c in result.api)
    assert all(c.status is not None for c in result.api), "every request got an answer"
    assert longest < DEADLINE + 1.5, "nothing waits past the request deadline"
    unavailable = [c for c in api if c.status == 503]
    assert unavailable and all(c.retry_after for c in unavailable)
    # Once the database is back, requests succeed again.
    after = [c for c in result.api if c.started > up + 1]
    assert after and all(c.status == 200 for c in after), Counter(c.status for c in after)
    REPORT.append(
        f"faults: 40 s outage, 8 clients -> /health max {health_max * 1000:.0f} ms over {len(health)} checks, "
        f"/ready 503 in at most {ready_max:.1f} s, longest answer {longest:.1f} s, "
        f"statuses {dict(Counter(c.status for c in api))}"
    )


def test_sigterm_while_requests_wait_for_the_database_drops_none(
    servers: list[Server], cluster: PgCluster, tmp_path: Path
) -> None:
    server = start(servers, cluster, tmp_path, DB_APPLICATION_NAME="shutdown")
    headers = sign_in(server.url, "shutdown_user")
    result = shutdown_while_waiting(server, cluster, headers, requests_=4)
    assert result.dropped == 0, [(c.status, c.error) for c in result.calls]
    assert all(c.status == 503 and c.retry_after for c in result.calls)
    assert result.exit_status == 0
    assert result.stop_seconds < 30, "done before ECS's stopTimeout sends SIGKILL"
    REPORT.append(
        f"faults: SIGTERM with 4 requests waiting for a stopped database -> {result.dropped} dropped, "
        f"answered 503 after {max(c.seconds for c in result.calls):.1f} s, gunicorn exited {result.stop_seconds:.1f} s "
        "after SIGTERM"
    )


def test_boot_overhead_once_the_database_answers(servers: list[Server], cluster: PgCluster, tmp_path: Path) -> None:
    cluster.stop()

    def factory() -> Server:
        env = boot_env(cluster.server, DB_APPLICATION_NAME="boot-overhead")
        server = Server(env, tmp_path)
        servers.append(server)
        return server

    server, result = boot_after(factory, cluster, delay=2.0)
    assert "woke after" in server.output and "schema up to date" in server.output, server.output
    # Performance is reported, not asserted tightly: this only catches a boot that idles for seconds.
    assert result.overhead < 5.0, result.split()
    REPORT.append(f"faults: boot overhead after the database answered {result.overhead:.2f} s ({result.split()})")
