"""Liveness and readiness: GET /health never touches the database, GET /ready does."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from .config import Settings
from .db import Database

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    """The process answers. Load balancer checks use this, so an idle database can pause."""
    return jsonify(status="ok")


@bp.get("/ready")
def ready() -> Response:
    """The database answers a query; 503 with Retry-After (from the error handler) otherwise."""
    db: Database = current_app.extensions["db"]
    settings: Settings = current_app.extensions["settings"]
    with db.connection(timeout=settings.db_ready_timeout_seconds) as conn:
        conn.execute("SELECT 1")
    return jsonify(status="ready")
