"""Request parsing shared by the endpoints: JSON bodies, strings PostgreSQL accepts, integers.

Every rule here is also written in docs/openapi.yaml; a client mistake is a 4xx, never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Set
from typing import Any

from flask import request

from .errors import ApiError

BIGINT_MAX = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def invalid(message: str) -> ApiError:
    """A 400 for input that is well-formed JSON but breaks a documented rule."""
    return ApiError(400, "invalid_request", message)


def json_object(allowed: Set[str], required: Set[str] = frozenset()) -> dict[str, Any]:
    """The request body as a JSON object with only ``allowed`` keys and all ``required`` ones."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "The request body must be JSON (Content-Type: application/json).")
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(f"Unknown field(s): {', '.join(_printable(name) for name in unknown)}.")
    missing = sorted(required - set(body))
    if missing:
        raise invalid(f"Missing field(s): {', '.join(missing)}.")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _printable(name: str) -> str:
    return json.dumps(name[:40])


def text(body: dict[str, Any], field: str, min_length: int, max_length: int) -> str:
    """A string field PostgreSQL can store: valid Unicode, no NUL, length in code points."""
    value = body[field]
    if not isinstance(value, str):
        raise invalid(f"{field} must be a string.")
    if "\x00" in value:
        raise invalid(f"{field} must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(f"{field} must be valid Unicode text.") from None
    if not min_length <= len(value) <= max_length:
        raise invalid(f"{field} must be {min_length} to {max_length} characters long.")
    return value


def boolean(body: dict[str, Any], field: str) -> bool:
    """A JSON true/false (not 0/1, not "true")."""
    value = body[field]
    if not isinstance(value, bool):
        raise invalid(f"{field} must be true or false.")
    return value


def query_int(name: str, default: int, low: int, high: int) -> int:
    """An optional integer query parameter within [low, high]."""
    values = request.args.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        raise invalid(f"{name} must be given at most once.")
    return _bounded_int(values[0], name, low, high)


def path_id(raw: str) -> int:
    """A resource id from the path: an integer from 1 to 2^63-1 (PostgreSQL bigint)."""
    return _bounded_int(raw, "id", 1, BIGINT_MAX)


def _bounded_int(raw: str, name: str, low: int, high: int) -> int:
    # ASCII digits only: int() would also take " 7", "+7", "1_0" and other scripts' digits.
    if not _DIGITS.fullmatch(raw):
        raise invalid(f"{name} must be an integer from {low} to {high}.")
    value = int(raw)
    if not low <= value <= high:
        raise invalid(f"{name} must be an integer from {low} to {high}.")
    return value
