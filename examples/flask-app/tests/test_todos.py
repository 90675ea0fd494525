"""The /todos operations: CRUD, pagination bounds, validation and isolation between users."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from .conftest import User, assert_error, new_user

BIGINT_MAX = 2**63 - 1


def _create(client: FlaskClient, user: User, title: str = "Buy milk", **extra: object) -> dict[str, object]:
    response = client.post("/todos", json={"title": title, **extra}, headers=user.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


# --- create and read ----------------------------------------------------------------------


def test_create_returns_the_new_todo(client: FlaskClient, alice: User) -> None:
    todo = _create(client, alice, "Buy milk")
    assert set(todo) == {"id", "title", "done", "created_at", "updated_at"}
    assert todo["title"] == "Buy milk" and todo["done"] is False
    assert str(todo["created_at"]).endswith("Z")


def test_create_can_set_done(client: FlaskClient, alice: User) -> None:
    assert _create(client, alice, "Done already", done=True)["done"] is True


def test_get_returns_the_todo(client: FlaskClient, alice: User) -> None:
    todo = _create(client, alice)
    response = client.get(f"/todos/{todo['id']}", headers=alice.headers)
    assert response.status_code == 200
    assert response.get_json() == todo


def test_titles_keep_unicode_and_count_characters_not_bytes(client: FlaskClient, alice: User) -> None:
    title = "🥛" * 200
    assert _create(client, alice, title)["title"] == title


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "x" * 201},
        {"title": None},
        {"title": 42},
        {"title": "nul\x00inside"},
        {"title": "ok", "done": "yes"},
        {"title": "ok", "done": 1},
        {"title": "ok", "owner": 2},
    ],
    ids=[
        "empty",
        "title-empty",
        "title-too-long",
        "title-null",
        "title-number",
        "title-nul",
        "done-string",
        "done-int",
        "unknown-field",
    ],
)
def test_create_rejects_invalid_bodies_with_400(client: FlaskClient, alice: User, body: dict[str, object]) -> None:
    assert_error(client.post("/todos", json=body, headers=alice.headers), 400, "invalid_request")


def test_a_lone_surrogate_in_a_title_is_400_not_500(client: FlaskClient, alice: User) -> None:
    response = client.post(
        "/todos", data='{"title": "\\ud800"}', content_type="application/json", headers=alice.headers
    )
    assert_error(response, 400, "invalid_request")


# --- list and pagination ------------------------------------------------------------------


def test_list_pages_oldest_first_with_the_total(client: FlaskClient) -> None:
    user = new_user(client)
    ids = [_create(client, user, f"todo {i}")["id"] for i in range(5)]
    first = client.get("/todos?limit=2", headers=user.headers).get_json()
    second = client.get("/todos?limit=2&offset=2", headers=user.headers).get_json()
    last = client.get("/todos?limit=2&offset=4", headers=user.headers).get_json()
    assert [t["id"] for t in first["items"] + second["items"] + last["items"]] == ids
    assert (first["limit"], first["offset"], first["total"]) == (2, 0, 5)
    assert (last["offset"], len(last["items"])) == (4, 1)


def test_list_defaults_to_20_from_the_start(client: FlaskClient) -> None:
    user = new_user(client)
    for i in range(21):
        _create(client, user, f"todo {i}")
    body = client.get("/todos", headers=user.headers).get_json()
    assert (len(body["items"]), body["limit"], body["offset"], body["total"]) == (20, 20, 0, 21)


def test_list_accepts_the_bounds(client: FlaskClient, alice: User) -> None:
    for query in ("limit=1", "limit=100", "offset=0", "offset=1000000"):
        assert client.get(f"/todos?{query}", headers=alice.headers).status_code == 200, query


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=",
        "limit=1.5",
        "limit=%2B5",
        "limit=%205",
        "limit=%D9%A3",
        "offset=-1",
        "offset=1000001",
        "offset=99999999999999999999999999",
        "limit=5&limit=6",
    ],
)
def test_list_rejects_out_of_bounds_paging_with_400(client: FlaskClient, alice: User, query: str) -> None:
    assert_error(client.get(f"/todos?{query}", headers=alice.headers), 400, "invalid_request")


# --- update and delete --------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(client: FlaskClient, alice: User) -> None:
    todo = _create(client, alice, "Old title")
    done = client.patch(f"/todos/{todo['id']}", json={"done": True}, headers=alice.headers).get_json()
    assert (done["title"], done["done"]) == ("Old title", True)
    renamed = client.patch(f"/todos/{todo['id']}", json={"title": "New title"}, headers=alice.headers).get_json()
    assert (renamed["title"], renamed["done"]) == ("New title", True)
    assert renamed["updated_at"] > todo["updated_at"]
    assert renamed["created_at"] == todo["created_at"]


@pytest.mark.parametrize(
    "body",
    [{}, {"title": ""}, {"title": None}, {"done": None}, {"done": "true"}, {"title": "x" * 201}, {"id": 5}],
    ids=["empty", "title-empty", "title-null", "done-null", "done-string", "title-too-long", "unknown-field"],
)
def test_patch_rejects_invalid_bodies_with_400(client: FlaskClient, alice: User, body: dict[str, object]) -> None:
    todo = _create(client, alice)
    assert_error(client.patch(f"/todos/{todo['id']}", json=body, headers=alice.headers), 400, "invalid_request")


def test_delete_removes_the_todo(client: FlaskClient, alice: User) -> None:
    todo = _create(client, alice)
    response = client.delete(f"/todos/{todo['id']}", headers=alice.headers)
    assert response.status_code == 204 and response.data == b""
    assert_error(client.get(f"/todos/{todo['id']}", headers=alice.headers), 404, "not_found")
    assert_error(client.delete(f"/todos/{todo['id']}", headers=alice.headers), 404, "not_found")


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_missing_todo_is_404(client: FlaskClient, alice: User, method: str) -> None:
    response = getattr(client, method)(f"/todos/{BIGINT_MAX}", json={"done": True}, headers=alice.headers)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("todo_id", ["abc", "0", "-1", "1.5", str(BIGINT_MAX + 1), "9" * 40, "%00", "%20"])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_an_id_that_is_not_a_bigint_is_400_not_500(client: FlaskClient, alice: User, method: str, todo_id: str) -> None:
    response = getattr(client, method)(f"/todos/{todo_id}", json={"done": True}, headers=alice.headers)
    assert_error(response, 400, "invalid_request")


# --- isolation between users --------------------------------------------------------------


def test_a_user_never_lists_another_users_todos(client: FlaskClient, alice: User, bob: User) -> None:
    _create(client, alice, "alice's")
    body = client.get("/todos", headers=bob.headers).get_json()
    assert body["items"] == [] and body["total"] == 0


def test_another_users_todo_is_404_for_read_update_and_delete(client: FlaskClient, alice: User, bob: User) -> None:
    todo = _create(client, alice, "alice's")
    url = f"/todos/{todo['id']}"
    assert_error(client.get(url, headers=bob.headers), 404, "not_found")
    assert_error(client.patch(url, json={"title": "bob was here", "done": True}, headers=bob.headers), 404, "not_found")
    assert_error(client.delete(url, headers=bob.headers), 404, "not_found")
    assert client.get(url, headers=alice.headers).get_json() == todo
