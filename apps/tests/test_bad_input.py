"""Bad input never hurts: every class of bad input, on every endpoint that takes input, is a 4xx
JSON error of the stable shape, never a 500 or a traceback, and writes nothing."""

from __future__ import annotations

import json

import pytest
from helpers import AUTH

BIG = 64 * 1024 + 1


def assert_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["code"], str)
    assert "Traceback" not in response.get_data(as_text=True)
    return body["error"]


# (name, raw body, content type, expected status)
RAW_BODIES = [
    ("malformed json", b'{"name": "x", ', "application/json", 400),
    ("trailing garbage", b'{"name": "x"} x', "application/json", 400),
    ("invalid utf-8", b'{"name": "\xff\xfe"}', "application/json", 400),
    ("NaN constant", b'{"name": NaN}', "application/json", 400),
    ("deep nesting", b"[" * 30_000 + b"]" * 30_000, "application/json", 400),
    ("huge integer", b'{"user_id": ' + b"9" * 5000 + b"}", "application/json", 400),
    ("not an object", b"[1, 2, 3]", "application/json", 422),
    ("bare string", b'"hello"', "application/json", 422),
    ("empty body", b"", "application/json", 400),
    ("form encoded", b"name=x&email=y", "application/x-www-form-urlencoded", 415),
    ("no content type", b'{"name": "x"}', None, 415),
    ("oversize body", b'{"name": "' + b"x" * BIG + b'"}', "application/json", 413),
]

USER_BODIES = [
    ("missing email", {"name": "x"}),
    ("missing name", {"email": "x@example.org"}),
    ("unknown field", {"name": "x", "email": "x@example.org", "admin": True}),
    ("name wrong type", {"name": 42, "email": "x@example.org"}),
    ("name is null", {"name": None, "email": "x@example.org"}),
    ("name is list", {"name": ["x"], "email": "x@example.org"}),
    ("empty name", {"name": "   ", "email": "x@example.org"}),
    ("name too long", {"name": "x" * 201, "email": "x@example.org"}),
    ("name with NUL", {"name": "a\u0000b", "email": "x@example.org"}),
    ("email not an email", {"name": "x", "email": "not-an-email"}),
    ("email wrong type", {"name": "x", "email": 7}),
    ("email too long", {"name": "x", "email": "a" * 250 + "@example.org"}),
]

ITEM = {"sku": "a", "quantity": 1, "unit_price": "1.00"}
ORDER_BODIES = [
    ("missing items", {"user_id": 1}),
    ("missing user_id", {"items": [ITEM]}),
    ("empty items", {"user_id": 1, "items": []}),
    ("unknown field", {"user_id": 1, "items": [ITEM], "discount": "1"}),
    ("unknown item field", {"user_id": 1, "items": [{**ITEM, "colour": "red"}]}),
    ("user_id string", {"user_id": "1", "items": [ITEM]}),
    ("user_id bool", {"user_id": True, "items": [ITEM]}),
    ("user_id zero", {"user_id": 0, "items": [ITEM]}),
    ("user_id beyond bigint", {"user_id": 2**63, "items": [ITEM]}),
    ("quantity string", {"user_id": 1, "items": [{**ITEM, "quantity": "2"}]}),
    ("quantity float", {"user_id": 1, "items": [{**ITEM, "quantity": 1.5}]}),
    ("quantity zero", {"user_id": 1, "items": [{**ITEM, "quantity": 0}]}),
    ("quantity negative", {"user_id": 1, "items": [{**ITEM, "quantity": -3}]}),
    ("quantity huge", {"user_id": 1, "items": [{**ITEM, "quantity": 10**9}]}),
    ("price three decimals", {"user_id": 1, "items": [{**ITEM, "unit_price": "1.001"}]}),
    ("price negative", {"user_id": 1, "items": [{**ITEM, "unit_price": "-1.00"}]}),
    ("price not a number", {"user_id": 1, "items": [{**ITEM, "unit_price": "ten"}]}),
    ("price NaN string", {"user_id": 1, "items": [{**ITEM, "unit_price": "NaN"}]}),
    ("price Infinity", {"user_id": 1, "items": [{**ITEM, "unit_price": "Infinity"}]}),
    ("price too large", {"user_id": 1, "items": [{**ITEM, "unit_price": "1e20"}]}),
    ("price bool", {"user_id": 1, "items": [{**ITEM, "unit_price": True}]}),
    ("price object", {"user_id": 1, "items": [{**ITEM, "unit_price": {"v": 1}}]}),
    ("items not list", {"user_id": 1, "items": ITEM}),
    ("too many items", {"user_id": 1, "items": [ITEM] * 101}),
    ("sku empty", {"user_id": 1, "items": [{**ITEM, "sku": ""}]}),
    ("sku too long", {"user_id": 1, "items": [{**ITEM, "sku": "s" * 65}]}),
    ("total too large", {"user_id": 1, "items": [
        {**ITEM, "quantity": 10_000, "unit_price": "9999999999.99"}]}),
]

BAD_QUERIES = ["limit=0", "limit=101", "limit=-1", "limit=abc", "limit=1.5", "limit=",
               "after=-1", "after=x", "limit=1&limit=2", "page=2", "limit=%C2%B2",
               "after=99999999999999999999"]


def counts(client, order_client=None):
    users = client.get("/users?limit=100").json["items"]
    orders = order_client.get("/orders?limit=100").json["items"] if order_client else []
    return len(users), len(orders)


@pytest.mark.parametrize(("name", "raw", "ctype", "status"), RAW_BODIES,
                         ids=[r[0] for r in RAW_BODIES])
@pytest.mark.parametrize("target", ["create user", "update user", "create order"])
def test_raw_bad_body_is_rejected_and_writes_nothing(client, order_client, name, raw, ctype,
                                                     status, target):
    seed = client.post("/users", json={"name": "Seed", "email": "seed@example.org"}).json
    before = counts(client, order_client)
    headers = {"Content-Type": ctype} if ctype else {}
    if target == "create user":
        response = client.post("/users", data=raw, headers=headers)
    elif target == "update user":
        response = client.patch(f"/users/{seed['id']}", data=raw, headers=headers)
    else:
        response = order_client.post("/orders", data=raw, headers=headers)
    assert_error(response, status)
    assert counts(client, order_client) == before
    assert client.get(f"/users/{seed['id']}").json == seed


@pytest.mark.parametrize(("name", "body"), USER_BODIES, ids=[b[0] for b in USER_BODIES])
def test_bad_user_fields_are_422_and_write_nothing(client, name, body):
    error = assert_error(client.post("/users", json=body), 422)
    assert error["code"] == "validation_failed"
    assert error["details"]["fields"]
    assert client.get("/users").json["items"] == []


@pytest.mark.parametrize(("name", "body"), [b for b in USER_BODIES if "missing" not in b[0]],
                         ids=[b[0] for b in USER_BODIES if "missing" not in b[0]])
def test_bad_user_update_is_422_and_changes_nothing(client, name, body):
    user = client.post("/users", json={"name": "Seed", "email": "seed@example.org"}).json
    assert_error(client.patch(f"/users/{user['id']}", json=body), 422)
    assert client.get(f"/users/{user['id']}").json == user


@pytest.mark.parametrize(("name", "body"), ORDER_BODIES, ids=[b[0] for b in ORDER_BODIES])
def test_bad_order_fields_are_422_and_write_nothing(client, order_client, name, body):
    client.post("/users", json={"name": "Seed", "email": "seed@example.org"})
    error = assert_error(order_client.post("/orders", json=body), 422)
    assert error["details"]["fields"]
    assert order_client.get("/orders").json["items"] == []


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_pagination_is_400_on_every_list(client, order_client, gateway, query):
    for response in (client.get(f"/users?{query}"), order_client.get(f"/orders?{query}"),
                     gateway.get(f"/api/users?{query}", headers=AUTH),
                     gateway.get(f"/api/orders?{query}", headers=AUTH),
                     gateway.get(f"/api/users/1/with-orders?{query}", headers=AUTH)):
        error = assert_error(response, 400)
        assert error["code"] == "invalid_query"


@pytest.mark.parametrize("query", ["user_id=0", "user_id=x", "user_id=-5"])
def test_bad_user_filter_is_400(order_client, query):
    assert_error(order_client.get(f"/orders?{query}"), 400)


@pytest.mark.parametrize(("name", "raw", "ctype", "status"), RAW_BODIES,
                         ids=[r[0] for r in RAW_BODIES])
def test_gateway_relays_bad_bodies_as_4xx_and_writes_nothing(gateway, name, raw, ctype,
                                                             status):
    headers = {**AUTH, **({"Content-Type": ctype} if ctype else {})}
    assert_error(gateway.post("/api/users", data=raw, headers=headers), status)
    assert_error(gateway.post("/api/orders", data=raw, headers=headers), status)
    assert gateway.get("/api/users", headers=AUTH).json["items"] == []
    assert gateway.get("/api/orders", headers=AUTH).json["items"] == []


def test_gateway_relays_field_errors_unchanged(gateway):
    response = gateway.post("/api/users", json={"name": 1, "email": "x@example.org",
                                                "extra": 1}, headers=AUTH)
    error = assert_error(response, 422)
    assert {f["field"] for f in error["details"]["fields"]} == {"name", "extra"}


def test_duplicate_email_through_gateway_is_409_and_keeps_one_user(gateway):
    body = {"name": "A", "email": "dup@example.org"}
    assert gateway.post("/api/users", json=body, headers=AUTH).status_code == 201
    assert_error(gateway.post("/api/users", json=body, headers=AUTH), 409)
    assert len(gateway.get("/api/users", headers=AUTH).json["items"]) == 1


@pytest.mark.parametrize("path", ["/api/users/0", "/api/users/abc", "/api/orders/424242",
                                  "/api/users/99999999999999999999", "/api/nothing",
                                  "/api/users/424242", "/api/users/424242/with-orders"])
def test_unknown_ids_and_paths_through_gateway_are_404(gateway, path):
    assert_error(gateway.get(path, headers=AUTH), 404)


def test_error_bodies_are_valid_json_objects_for_every_status(client):
    for response in (client.get("/nope"), client.put("/users"),
                     client.post("/users", data="x", content_type="text/plain")):
        json.loads(response.get_data(as_text=True))
        assert_error(response, response.status_code)
