"""The request deadline: every request is answered within REQUEST_DEADLINE_SECONDS of arriving.

API Gateway gives up after 29 s; an answer the app sends later reaches nobody, and a request
still running when gunicorn's graceful_timeout ends is cut off without an answer. So the time a
request may spend waiting (in gunicorn's queue, for a pool connection, on a query) is taken from
one budget that starts when the request reached the server. The gunicorn worker (app/server.py)
records that moment for the thread that serves the request; without it (the Flask test client,
``flask run``) the budget starts when Flask starts handling the request.

Nothing here imports Flask or gunicorn: both the worker and the app use it.
"""

from __future__ import annotations

import threading
import time

_local = threading.local()


class ClientTooSlowError(Exception):
    """The client did not send its request (headers and body) within REQUEST_READ_TIMEOUT_SECONDS.

    Deliberately not an OSError: gunicorn would treat that as a broken socket and close the
    connection without an answer; this one is answered with a 408.
    """


def mark_arrival(moment: float) -> None:
    """Record when the request this thread is about to serve reached the server (monotonic)."""
    _local.arrival = moment


def begin(budget_seconds: float) -> None:
    """Start this thread's request deadline: ``budget_seconds`` after the recorded arrival (or now)."""
    arrival = getattr(_local, "arrival", None)
    _local.arrival = None
    now = time.monotonic()
    start = arrival if arrival is not None and arrival <= now else now
    _local.deadline = start + budget_seconds


def end() -> None:
    """Forget this thread's deadline (the request is answered)."""
    _local.deadline = None


def remaining() -> float | None:
    """Seconds left before this thread's request must be answered; None outside a request."""
    deadline = getattr(_local, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def bounded(seconds: float) -> float:
    """``seconds``, or less if the request deadline comes sooner (never below zero)."""
    left = remaining()
    return max(0.0, seconds if left is None else min(seconds, left))
