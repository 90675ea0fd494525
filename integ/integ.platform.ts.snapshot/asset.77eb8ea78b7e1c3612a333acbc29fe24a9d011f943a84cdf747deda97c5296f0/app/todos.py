"""The todo list of the signed-in user: /todos and /todos/{id}.

Every query is scoped to the token's user, so another user's todo is simply not found (404):
the answer does not reveal that the id exists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from .auth import current_user_id
from .db import Database
from .errors import ApiError
from .validation import boolean, invalid, json_object, path_id, query_int, text

bp = Blueprint("todos", __name__, url_prefix="/todos")

TITLE_MIN, TITLE_MAX = 1, 200
LIMIT_DEFAULT, LIMIT_MAX = 20, 100
OFFSET_MAX = 1_000_000

_COLUMNS = "id, title, done, created_at, updated_at"


def _db() -> Database:
    db: Database = current_app.extensions["db"]
    return db


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _todo(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": row[0], "title": row[1], "done": row[2], "created_at": _iso(row[3]), "updated_at": _iso(row[4])}


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "No such todo.")


@bp.get("")
def list_todos() -> Response:
    """A page of the user's todos, oldest first."""
    user_id = current_user_id()
    limit = query_int("limit", LIMIT_DEFAULT, 1, LIMIT_MAX)
    offset = query_int("offset", 0, 0, OFFSET_MAX)
    with _db().connection() as conn:
        total_row = conn.execute("SELECT count(*) FROM todos WHERE user_id = %s", (user_id,)).fetchone()
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM todos WHERE user_id = %s ORDER BY id LIMIT %s OFFSET %s",
            (user_id, limit, offset),
        ).fetchall()
    total = total_row[0] if total_row else 0
    return jsonify(items=[_todo(row) for row in rows], limit=limit, offset=offset, total=total)


@bp.post("")
def create_todo() -> tuple[Response, int]:
    """Add a todo; ``done`` defaults to false."""
    user_id = current_user_id()
    body = json_object({"title", "done"}, {"title"})
    title = text(body, "title", TITLE_MIN, TITLE_MAX)
    done = boolean(body, "done") if "done" in body else False
    with _db().connection() as conn:
        # The user may have been removed since the token was issued: then the token is void.
        row = conn.execute(
            f"INSERT INTO todos (user_id, title, done) SELECT %s, %s, %s "
            f"WHERE EXISTS (SELECT 1 FROM users WHERE id = %s) RETURNING {_COLUMNS}",
            (user_id, title, done, user_id),
        ).fetchone()
    if row is None:
        raise ApiError(401, "unauthorized", "The token's user no longer exists.", {"WWW-Authenticate": "Bearer"})
    return jsonify(_todo(row)), 201


@bp.get("/<id>")
def get_todo(id: str) -> Response:
    """One todo of the user."""
    user_id = current_user_id()
    todo_id = path_id(id)
    with _db().connection() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM todos WHERE id = %s AND user_id = %s", (todo_id, user_id)
        ).fetchone()
    if row is None:
        raise _not_found()
    return jsonify(_todo(row))


@bp.patch("/<id>")
def update_todo(id: str) -> Response:
    """Change the title, the done flag, or both."""
    user_id = current_user_id()
    todo_id = path_id(id)
    body = json_object({"title", "done"})
    if not body:
        raise invalid("Give at least one of: title, done.")
    title = text(body, "title", TITLE_MIN, TITLE_MAX) if "title" in body else None
    done = boolean(body, "done") if "done" in body else None
    with _db().connection() as conn:
        row = conn.execute(
            "UPDATE todos SET title = COALESCE(%s, title), done = COALESCE(%s, done), updated_at = now() "
            f"WHERE id = %s AND user_id = %s RETURNING {_COLUMNS}",
            (title, done, todo_id, user_id),
        ).fetchone()
    if row is None:
        raise _not_found()
    return jsonify(_todo(row))


@bp.delete("/<id>")
def delete_todo(id: str) -> tuple[str, int]:
    """Remove a todo."""
    user_id = current_user_id()
    todo_id = path_id(id)
    with _db().connection() as conn:
        deleted = conn.execute("DELETE FROM todos WHERE id = %s AND user_id = %s", (todo_id, user_id)).rowcount
    if not deleted:
        raise _not_found()
    return "", 204
