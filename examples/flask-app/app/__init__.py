"""The reference Flask + PostgreSQL app of cdk-flask-serverless: JWT auth and a todo list."""

from __future__ import annotations

import atexit
import logging
import os
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from flask import Flask


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; settings default to the environment. No database connection is opened."""
    # Imported here, so importing the package needs only the standard library: the boot check
    # (`python -m app.boot`) then reports a missing dependency itself instead of a bare traceback.
    from flask import Flask

    from . import auth, deadline, health, todos
    from .db import Database
    from .errors import register_error_handlers

    settings = settings or Settings.from_env(os.environ)
    app = Flask(__name__, static_folder=None)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_content_length,
        # Only the methods in docs/openapi.yaml: OPTIONS gets a 405 like any other.
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    db = Database(settings)
    app.extensions["settings"] = settings
    app.extensions["db"] = db
    register_error_handlers(app)

    @app.before_request
    def _start_deadline() -> None:
        deadline.begin(settings.request_deadline_seconds)

    @app.teardown_request
    def _end_deadline(_exc: BaseException | None) -> None:
        deadline.end()

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(todos.bp)
    atexit.register(db.close)
    if not logging.getLogger().handlers:
        # Under gunicorn only its own loggers have handlers; send the app's to stderr as well.
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"
        )
        logging.getLogger("psycopg.pool").setLevel(logging.WARNING)
    return app
