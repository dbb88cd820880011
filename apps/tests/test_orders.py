"""order-service: every endpoint; the user check goes over HTTP to a real user-service."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from conftest import make_order_app
from helpers import ScriptedUpstream, free_port, json_response


@pytest.fixture
def user(client):
    return client.post("/users", json={"name": "Ada", "email": "ada@example.org"}).json


def order_body(user_id, *items):
    return {"user_id": user_id, "items": [
        {"sku": sku, "quantity": qty, "unit_price": price} for sku, qty, price in items]}


def test_create_computes_exact_total_and_line_totals(order_client, user):
    body = order_body(user["id"], ("apple", 3, "0.10"), ("pear", 1, "19.99"), ("fig", 7, "0.7"))
    response = order_client.post("/orders", json=body)
    assert response.status_code == 201, response.json
    order = response.json
    assert order["status"] == "created"
    assert order["total"] == "25.19"  # 0.30 + 19.99 + 4.90, no float error
    assert [i["line_total"] for i in order["items"]] == ["0.30", "19.99", "4.90"]
    assert [i["unit_price"] for i in order["items"]] == ["0.10", "19.99", "0.70"]
    assert response.headers["Location"] == f"/orders/{order['id']}"


def test_json_number_prices_are_read_as_exact_decimals(order_client, user):
    raw = '{"user_id": %d, "items": [{"sku": "a", "quantity": 3, "unit_price": 0.1}]}'
    response = order_client.post("/orders", data=raw % user["id"],
                                 content_type="application/json")
    assert response.status_code == 201, response.json
    assert Decimal(response.json["total"]) == Decimal("0.30")


def test_read_returns_the_created_order(order_client, user):
    created = order_client.post("/orders", json=order_body(user["id"], ("a", 1, "1.00"))).json
    assert order_client.get(f"/orders/{created['id']}").json == created


def test_unknown_user_is_422_and_nothing_is_written(order_client, user):
    response = order_client.post("/orders", json=order_body(user["id"] + 1, ("a", 1, "1.00")))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "unknown_user"
    assert order_client.get("/orders").json["items"] == []


def test_list_filters_by_user_and_paginates(order_client, client, user):
    other = client.post("/users", json={"name": "B", "email": "b@example.org"}).json
    mine = [order_client.post("/orders", json=order_body(user["id"], ("a", n + 1, "1.00")))
            .json["id"] for n in range(5)]
    order_client.post("/orders", json=order_body(other["id"], ("b", 1, "2.00")))
    first = order_client.get(f"/orders?user_id={user['id']}&limit=3").json
    second = order_client.get(f"/orders?user_id={user['id']}&limit=3"
                              f"&after={first['next_after']}").json
    assert [o["id"] for o in first["items"] + second["items"]] == mine
    assert second["next_after"] is None
    assert len(order_client.get("/orders").json["items"]) == 6


def test_cancel_once_then_409(order_client, user):
    order = order_client.post("/orders", json=order_body(user["id"], ("a", 1, "1.00"))).json
    response = order_client.post(f"/orders/{order['id']}/cancel")
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert response.json["version"] == 2
    again = order_client.post(f"/orders/{order['id']}/cancel")
    assert again.status_code == 409
    assert again.json["error"]["code"] == "not_cancellable"


@pytest.mark.parametrize("path", ["/orders/777", "/orders/0", "/orders/x",
                                  "/orders/99999999999999999999"])
def test_unknown_order_is_404(order_client, path):
    assert order_client.get(path).status_code == 404
    assert order_client.post(path + "/cancel").status_code == 404


def test_user_service_down_is_502_and_nothing_written(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    app = make_order_app(f"sqlite:///{tmp_path}/o.db", (dead,))
    client = app.test_client()
    response = client.post("/orders", json=order_body(1, ("a", 1, "1.00")))
    assert response.status_code == 502
    assert response.json["error"]["details"]["upstream"] == "user-service"
    assert client.get("/orders").json["items"] == []


def test_user_service_without_instances_is_503(tmp_path):
    app = make_order_app(f"sqlite:///{tmp_path}/o.db", ())
    response = app.test_client().post("/orders", json=order_body(1, ("a", 1, "1.00")))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "service_unavailable"


def test_slow_user_service_is_504_after_the_read_timeout(tmp_path):
    slow = ScriptedUpstream(json_response('{"id": 1}', delay=1.5))
    try:
        app = make_order_app(f"sqlite:///{tmp_path}/o.db", (slow.url,),
                             UPSTREAM_READ_TIMEOUT=0.3, UPSTREAM_RETRIES=1)
        response = app.test_client().post("/orders", json=order_body(1, ("a", 1, "1.00")))
        assert response.status_code == 504
        assert response.json["error"]["details"]["phase"] == "read"
        assert slow.count("GET") == 2  # the user check is a GET: retried once
    finally:
        slow.stop()


def test_order_service_readiness_reports_user_service_without_failing(tmp_path):
    app = make_order_app(f"sqlite:///{tmp_path}/o.db", ())
    response = app.test_client().get("/health/ready")
    assert response.status_code == 200
    assert response.json["checks"]["user-service"]["ok"] is False
    assert response.json["checks"]["database"]["ok"] is True


def test_order_service_calls_user_service_over_real_http(order_server, user):
    response = requests.post(order_server.url + "/orders", timeout=5,
                             json=order_body(user["id"], ("a", 2, "2.50")))
    assert response.status_code == 201
    assert response.json()["total"] == "5.00"
