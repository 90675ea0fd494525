"""The gunicorn worker the image runs (``worker_class = "app.server.ThreadWorker"``).

gunicorn's own gthread worker, with three changes the app needs on a small task behind a
load balancer:

- **Slow clients.** gthread keeps a connection off the threads until its first bytes arrive, but
  then reads the headers and the body on a request thread with no time limit: four clients that
  send half a body held all the threads. Here every read of a request is bounded by
  REQUEST_READ_TIMEOUT_SECONDS from the moment the request arrived; a client that is slower gets
  a 408 and its connection is closed.
- **The request deadline.** The moment a request reached the server (when its connection was
  queued for a thread) is handed to the app (app/deadline.py), so time spent queued counts
  against REQUEST_DEADLINE_SECONDS.
- **JSON errors.** The errors gunicorn answers itself (a URL or headers too long, malformed or
  conflicting framing) use the app's ``{"error": {"code", "message"}}`` shape instead of HTML. A
  body the app refused (413) is read and discarded, up to a limit, before the connection is
  reused or closed, so a client still sending it reads the 413 instead of a reset connection.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import time
from typing import Any

from gunicorn import util
from gunicorn.workers import gthread

from . import deadline
from .config import ConfigError
from .deadline import ClientTooSlowError
from .errors import error_body, error_code


def _read_timeout(raw: str) -> float:
    try:
        value = float(raw.strip() or "10")
    except ValueError:
        raise ConfigError(f"REQUEST_READ_TIMEOUT_SECONDS must be a number of seconds, got {raw!r}") from None
    if not 0.5 <= value <= 60:
        raise ConfigError(f"REQUEST_READ_TIMEOUT_SECONDS must be between 0.5 and 60, got {raw}")
    return value


# How long a client may take to send a whole request (headers and body) once it started.
READ_TIMEOUT = _read_timeout(os.environ.get("REQUEST_READ_TIMEOUT_SECONDS", ""))
# A refused body (413, 404 on a POST...) is drained up to this size, within the read timeout, so
# a client still sending it reads the answer; past it the connection is closed.
DRAIN_MAX_BYTES = 16 * 1024 * 1024

_MESSAGES = {
    400: "The request is not valid HTTP.",
    403: "The request is forbidden.",
    408: "The request did not arrive in time.",
    414: "The request line (method and URL) is too long.",
    417: "The expectation is not supported.",
    431: "The request headers are too large.",
    500: "An unexpected error occurred.",
    501: "The transfer coding is not supported.",
}


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's util.write_error, answering in the app's JSON error shape.

    ``mesg`` (which may quote the raw request) stays in gunicorn's log, not in the answer.
    """
    body = error_body(error_code(status_int), _MESSAGES.get(status_int, reason))
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


# base.Worker.handle_error, which classifies gunicorn's parse errors, answers through this function.
util.write_error = write_json_error


def _readable(sock: socket.socket, seconds: float) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(max(1, int(seconds * 1000))))


class _DeadlineSocket:
    """What gunicorn's request parser reads from: the client socket, but no read waits past the
    connection's read deadline (everything else is the socket's own)."""

    def __init__(self, sock: socket.socket, conn: _Conn) -> None:
        self._sock = sock
        self._conn = conn

    def recv(self, size: int) -> bytes:
        left = self._conn.read_deadline - time.monotonic()
        if left <= 0 or not _readable(self._sock, left):
            self._conn.too_slow = True
            raise ClientTooSlowError(f"the request did not arrive within {READ_TIMEOUT:g} s")
        return self._sock.recv(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Conn(gthread.TConn):
    """A gthread connection whose parser reads through _DeadlineSocket."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.queued_at = time.monotonic()
        self.read_deadline = self.queued_at + READ_TIMEOUT
        self.too_slow = False

    def init(self) -> None:
        fresh = self.parser is None
        super().init()
        if fresh and not self.is_http2:
            unreader = self.parser.unreader
            unreader.sock = _DeadlineSocket(unreader.sock, self)

    def close(self, graceful: bool = False) -> None:
        if self.too_slow:
            # Lingering to drain would wait on the very client that stopped sending.
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)
            util.close(self.sock)
            return
        super().close(graceful)


class ThreadWorker(gthread.ThreadWorker):
    """gthread with bounded request reads, the request's arrival time, and JSON server errors."""

    def accept(self, listener: socket.socket) -> None:
        """gthread's accept, making a _Conn."""
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            self.enqueue_req(_Conn(self.cfg, client_sock, client_addr, listener.getsockname()))
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise

    def enqueue_req(self, conn: _Conn) -> None:
        """Note when the request was queued for a thread: its deadline starts there."""
        conn.queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: _Conn) -> Any:
        """gthread's handle, with the read deadline set and the arrival handed to the app."""
        arrival = conn.queued_at
        if not conn.initialized and not conn.data_ready:
            waiting_since = time.monotonic()
            if not conn.wait_for_data(gthread.DEFAULT_WORKER_DATA_TIMEOUT):
                return gthread._DEFER  # back to the poller until data comes, holding no thread
            if time.monotonic() - waiting_since > 0.05:
                arrival = time.monotonic()  # a connection opened early: the request starts with its data
        conn.read_deadline = arrival + READ_TIMEOUT
        conn.too_slow = False
        deadline.mark_arrival(arrival)
        return super().handle(conn)

    def _keepalive_after(self, conn: _Conn, keepalive: bool) -> bool:
        """Drain what the app left of the body (bounded in time and size) before reusing the connection."""
        if conn.too_slow:
            return False
        conn.read_deadline = max(conn.read_deadline, time.monotonic() + READ_TIMEOUT)
        try:
            drained = conn.parser.finish_body(deadline=conn.read_deadline, max_bytes=DRAIN_MAX_BYTES)
        except ClientTooSlowError:
            return False
        return bool(keepalive and drained)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        """A client too slow to send its request gets a 408; the rest is gunicorn's (as JSON)."""
        if isinstance(exc, ClientTooSlowError):
            self.log.warning("Request from %s not read in time: %s", (addr or ("",))[0], exc)
            try:
                write_json_error(client, 408, "Request Timeout", str(exc))
            except OSError:
                self.log.debug("Failed to send the 408.")
            return
        super().handle_error(req, client, addr, exc)
