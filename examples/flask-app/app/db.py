"""PostgreSQL access: a connection pool that opens lazily and closes itself when idle.

An idle app must hold no connection, or Aurora Serverless v2 never pauses. psycopg_pool's own
``max_idle`` drops only one surplus connection per period, so a pool that grew to N
connections would take N periods to empty; here the whole pool is closed once nothing has used
it for ``DB_POOL_MAX_IDLE_SECONDS`` and reopened by the next request that needs the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from . import deadline
from .config import Settings

log = logging.getLogger(__name__)

# psycopg_pool backs off 1, 2, 4, 8, 16 s between failed connection attempts: a database back at
# 16 s would not be tried again before 31 s, past API Gateway's 29 s. Retry every 2 s at most.
_RETRY_FIRST_DELAY = 0.25
_RETRY_MAX_DELAY = 2.0


class DatabaseUnavailableError(Exception):
    """The database did not answer in time (down, resuming too slowly, or the link broke)."""


class DatabaseBusyError(DatabaseUnavailableError):
    """DB_REQUEST_SLOTS requests already use or wait for the database: this one is turned away at once."""


T = TypeVar("T")


def _retry(attempt: Callable[[float], T], budget_seconds: float, stop: threading.Event | None = None) -> T:
    """Call ``attempt(seconds_left)`` until it stops raising OperationalError or the budget is spent.

    ``stop`` ends the retries early: a pool being closed (shutdown, idle) must not keep its
    threads trying to reach a database nobody waits for any more.
    """
    deadline = time.monotonic() + budget_seconds
    delay = _RETRY_FIRST_DELAY
    tries = 0
    while True:
        tries += 1
        try:
            return attempt(deadline - time.monotonic())
        except psycopg.OperationalError as exc:
            if time.monotonic() + delay >= deadline or (stop is not None and stop.is_set()):
                raise
            log.info("database not answering, attempt %d (%s); retrying in %.2fs", tries, _first_line(exc), delay)
            if stop is not None and stop.wait(delay):
                raise
            if stop is None:
                time.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_DELAY)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def connect_with_retry(settings: Settings, budget_seconds: float, **overrides: Any) -> psycopg.Connection[TupleRow]:
    """Open one connection, retrying with capped backoff until ``budget_seconds`` have passed.

    Each attempt gets a password of its own (a fresh IAM auth token with DB_IAM_AUTH=1).
    """

    def attempt(seconds_left: float) -> psycopg.Connection[TupleRow]:
        kwargs: dict[str, Any] = {**settings.conninfo_kwargs(), **overrides}
        # libpq counts connect_timeout in whole seconds, 2 at least; never wait much past the budget.
        timeout = max(2, min(int(kwargs["connect_timeout"]), int(seconds_left) + 1))
        return psycopg.connect(**{**kwargs, "connect_timeout": timeout})

    return _retry(attempt, budget_seconds)


def _retrying_connection_class(settings: Settings, stop: threading.Event) -> type[psycopg.Connection[TupleRow]]:
    """A Connection class whose connect() rides out a resume within the request budget.

    The pool is given every parameter but the password: each attempt adds its own, so with
    DB_IAM_AUTH=1 a pool that lives past a token's 15 minutes still opens connections.
    """

    class RetryingConnection(psycopg.Connection[TupleRow]):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> RetryingConnection:  # type: ignore[override]
            connect_once = super().connect
            return _retry(  # type: ignore[return-value]
                lambda _: connect_once(conninfo, **kwargs, password=settings.new_password()),
                settings.db_pool_timeout_seconds,
                stop,
            )

    return RetryingConnection


def _statement_timeout(seconds: float) -> Callable[[psycopg.Connection[TupleRow]], None]:
    """Set once per connection: no query outlives the request deadline (no extra round trip per request)."""
    milliseconds = int(seconds * 1000)

    def configure(conn: psycopg.Connection[TupleRow]) -> None:
        conn.execute(f"SET statement_timeout = {milliseconds}")
        conn.commit()

    return configure


class Database:
    """Hands out pooled connections; opens the pool on first use, closes it when idle."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] | None = None
        self._in_use = 0
        self._last_used = time.monotonic()
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()
        # A thread waiting for the pool is a thread /health cannot have: bound how many may wait.
        self._slots = threading.BoundedSemaphore(settings.db_request_slots)

    @property
    def is_open(self) -> bool:
        """Whether a pool (and so possibly connections) exists right now."""
        return self._pool is not None

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection[TupleRow]]:
        """A connection in a transaction: committed on success, rolled back on error.

        Waits at most ``timeout`` seconds (default DB_POOL_TIMEOUT_SECONDS), and never past the
        request deadline. Raises DatabaseBusyError when DB_REQUEST_SLOTS requests already use or
        wait for the database, DatabaseUnavailableError when no connection came in time or the
        connection broke during the block.
        """
        wait = deadline.bounded(timeout or self._settings.db_pool_timeout_seconds)
        if not self._slots.acquire(blocking=False):
            raise DatabaseBusyError("every database slot is taken")
        try:
            if wait <= 0:
                raise DatabaseUnavailableError("the request deadline passed before the database was reached")
            pool = self._checkout()
            try:
                with pool.connection(timeout=wait) as conn:
                    self._bound_queries(conn)
                    yield conn
            except PoolTimeout as exc:
                raise DatabaseUnavailableError("no database connection within the time allowed") from exc
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                raise DatabaseUnavailableError(_first_line(exc)) from exc
            finally:
                self._checkin()
        finally:
            self._slots.release()

    def _bound_queries(self, conn: psycopg.Connection[TupleRow]) -> None:
        # Each connection's statement_timeout is the whole deadline. A request that already spent
        # part of it (queued, waiting for the pool) gets a shorter one for this transaction only:
        # one extra round trip, paid only when the request has waited.
        left = deadline.remaining()
        if left is None or left > self._settings.request_deadline_seconds - 1.0:
            return
        if left <= 0.01:
            raise DatabaseUnavailableError("the request deadline passed while waiting for a connection")
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (f"{int(left * 1000)}ms",))

    def close(self) -> None:
        """Close the pool and every connection in it (the next request reopens it)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._stop.set()
        if pool is not None:
            pool.close(timeout=1.0)

    def _checkout(self) -> ConnectionPool[psycopg.Connection[TupleRow]]:
        with self._lock:
            if self._pool is None:
                self._stop = threading.Event()
                self._pool = self._new_pool(self._stop)
                self._reaper = threading.Thread(
                    target=self._reap_when_idle, args=(self._stop,), name="db-pool-reaper", daemon=True
                )
                self._reaper.start()
            self._in_use += 1
            return self._pool

    def _checkin(self) -> None:
        with self._lock:
            self._in_use -= 1
            self._last_used = time.monotonic()

    def _new_pool(self, stop: threading.Event) -> ConnectionPool[psycopg.Connection[TupleRow]]:
        s = self._settings
        pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            kwargs=s.conninfo_kwargs(with_password=False),
            connection_class=_retrying_connection_class(s, stop),
            min_size=0,
            max_size=s.db_pool_max_size,
            max_idle=s.db_pool_max_idle_seconds,
            timeout=s.db_pool_timeout_seconds,
            # A connection the server dropped (restart, failover) is replaced before use.
            check=ConnectionPool.check_connection,
            configure=_statement_timeout(s.request_deadline_seconds),
            name="flask-app",
            open=False,
        )
        # min_size=0: opening starts the pool's worker threads but no connection.
        pool.open(wait=False)
        log.info("database pool opened")
        return pool

    def _reap_when_idle(self, stop: threading.Event) -> None:
        max_idle = self._settings.db_pool_max_idle_seconds
        interval = min(max(max_idle / 4, 0.1), 5.0)
        while not stop.wait(interval):
            with self._lock:
                idle_for = time.monotonic() - self._last_used
                if self._in_use or idle_for < max_idle or self._pool is None:
                    continue
                pool, self._pool = self._pool, None
            stop.set()
            pool.close(timeout=2.0)
            log.info("database pool closed after %.0fs unused", idle_for)
            return
