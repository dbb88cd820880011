"""user-service: every endpoint, against the Flask test client and SQLite."""

from __future__ import annotations

import pytest


def create(client, name="Ada Lovelace", email="ada@example.org"):
    response = client.post("/users", json={"name": name, "email": email})
    assert response.status_code == 201, response.json
    return response.json


def test_create_returns_the_user_with_location_and_normalised_email(client):
    response = client.post("/users", json={"name": "  Ada  ", "email": "Ada@Example.ORG"})
    assert response.status_code == 201
    assert response.headers["Location"] == f"/users/{response.json['id']}"
    assert response.json["name"] == "Ada"
    assert response.json["email"] == "ada@example.org"
    assert response.json["version"] == 1


def test_read_returns_what_create_stored(client):
    user = create(client)
    response = client.get(f"/users/{user['id']}")
    assert response.status_code == 200
    assert response.json == user


def test_duplicate_email_is_409_even_with_other_case(client):
    create(client, email="grace@example.org")
    response = client.post("/users", json={"name": "Other", "email": "GRACE@example.org"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "email_taken"
    assert len(client.get("/users").json["items"]) == 1


def test_list_walks_all_pages_in_id_order_without_gaps(client):
    ids = [create(client, f"user {n}", f"u{n}@example.org")["id"] for n in range(7)]
    seen, after, pages = [], 0, 0
    while True:
        page = client.get(f"/users?limit=3&after={after}").json
        seen += [u["id"] for u in page["items"]]
        pages += 1
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == ids
    assert pages == 3


def test_list_of_empty_table_is_empty_page(client):
    assert client.get("/users").json == {"items": [], "next_after": None}


def test_update_changes_only_given_fields_and_bumps_version(client):
    user = create(client)
    response = client.patch(f"/users/{user['id']}", json={"name": "Countess"})
    assert response.status_code == 200
    assert response.json["name"] == "Countess"
    assert response.json["email"] == user["email"]
    assert response.json["version"] == 2


def test_update_to_taken_email_is_409_and_changes_nothing(client):
    create(client, email="a@example.org")
    b = create(client, name="B", email="b@example.org")
    response = client.patch(f"/users/{b['id']}", json={"email": "A@example.org"})
    assert response.status_code == 409
    assert client.get(f"/users/{b['id']}").json == b


def test_update_with_no_field_is_422(client):
    user = create(client)
    response = client.patch(f"/users/{user['id']}", json={})
    assert response.status_code == 422
    assert client.get(f"/users/{user['id']}").json == user


def test_delete_removes_the_user(client):
    user = create(client)
    assert client.delete(f"/users/{user['id']}").status_code == 204
    assert client.get(f"/users/{user['id']}").status_code == 404
    assert client.delete(f"/users/{user['id']}").status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("user_id", ["12345", "0", "-1", "abc", "9223372036854775808",
                                     "99999999999999999999999"])
def test_unknown_or_impossible_id_is_404_json(client, method, user_id):
    kwargs = {"json": {"name": "x"}} if method == "patch" else {}
    response = getattr(client, method)(f"/users/{user_id}", **kwargs)
    assert response.status_code == 404
    assert set(response.json["error"]) == {"code", "message", "details"}


def test_wrong_method_is_405_json_with_allow(client):
    response = client.put("/users/1", json={"name": "x"})
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "PATCH" in response.headers["Allow"]
