"""One error shape for every failure: ``{"error": {"code", "message"}}``, never a stack trace."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException

from .db import DatabaseBusyError, DatabaseUnavailableError
from .deadline import ClientTooSlowError

log = logging.getLogger(__name__)

# Codes for the HTTP errors Flask and Werkzeug raise themselves (routing, body size, methods).
_HTTP_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    417: "expectation_failed",
    431: "headers_too_large",
    501: "not_implemented",
}

# Seconds a client should wait after a 503 because every database slot was taken (a burst).
BUSY_RETRY_AFTER = "1"


def error_code(status: int) -> str:
    """The ``code`` of the JSON error for an HTTP status without a more specific one."""
    return _HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")


def error_body(code: str, message: str) -> bytes:
    """The JSON error body, for layers that answer without Flask (the gunicorn worker)."""
    return json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()


class ApiError(Exception):
    """An error answered to the client as JSON with the given status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """The JSON error body with its status and headers."""
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """Route every exception to a JSON error response."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = error_code(status)
        message = _message_for(exc, status)
        headers = {}
        # Keep the headers Werkzeug computed, such as Allow on a 405.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                headers[name] = value
        return error_response(status, code, message, headers)

    @app.errorhandler(ClientTooSlowError)
    def _too_slow(exc: ClientTooSlowError) -> Response:
        # The worker closes the connection after this answer (the rest of the body never came).
        return error_response(408, "request_timeout", "The request body did not arrive in time.")

    @app.errorhandler(DatabaseBusyError)
    def _database_busy(exc: DatabaseBusyError) -> Response:
        log.warning("turned away: %s", exc)
        return error_response(
            503, "busy", "The server has too many requests waiting; retry shortly.", {"Retry-After": BUSY_RETRY_AFTER}
        )

    @app.errorhandler(DatabaseUnavailableError)
    def _database_unavailable(exc: DatabaseUnavailableError) -> Response:
        log.warning("database unavailable: %s", exc)
        retry_after = str(current_app.extensions["settings"].retry_after_seconds)
        return error_response(
            503,
            "database_unavailable",
            "The database is not available right now (it may be resuming); retry shortly.",
            {"Retry-After": retry_after},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "An unexpected error occurred.")


def _message_for(exc: HTTPException, status: int) -> str:
    if status == 404:
        return "No such resource."
    if status == 405:
        return "This method is not allowed on this resource."
    if status == 413:
        return "The request body is too large."
    # Werkzeug's descriptions are plain sentences without request data; keep them.
    return (exc.description or exc.name or "Request failed.").strip()
