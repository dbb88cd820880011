"""Internal services answer only the internal network (and the internal token when set)."""

from __future__ import annotations

import pytest
from conftest import make_gateway_app, make_order_app, make_user_app
from helpers import AUTH, ServerThread

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.mark.parametrize("addr", ["127.0.0.1", "10.1.2.3", "172.20.0.5", "192.168.1.9", "::1"])
def test_internal_service_answers_private_networks(client, addr):
    assert client.get("/users", environ_base={"REMOTE_ADDR": addr}).status_code == 200


@pytest.mark.parametrize("path", ["/users", "/users/1", "/health/ready", "/metrics"])
def test_internal_service_refuses_public_addresses_with_403(client, path):
    response = client.get(path, environ_base=OUTSIDE)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_refused_caller_writes_nothing(client):
    client.post("/users", json={"name": "x", "email": "x@example.org"}, environ_base=OUTSIDE)
    assert client.get("/users").json["items"] == []


def test_allowed_networks_are_configurable(tmp_path):
    from flaskfleet_services.kit.config import parse_networks

    app = make_user_app(f"sqlite:///{tmp_path}/u.db",
                        ALLOWED_NETWORKS=parse_networks("10.9.0.0/16"))
    client = app.test_client()
    assert client.get("/users", environ_base={"REMOTE_ADDR": "10.9.3.4"}).status_code == 200
    assert client.get("/users").status_code == 403  # 127.0.0.1 is not in the list


def test_order_service_refuses_public_addresses(order_client):
    assert order_client.get("/orders", environ_base=OUTSIDE).status_code == 403


def test_gateway_is_public(gateway):
    assert gateway.get("/api/users", headers=AUTH, environ_base=OUTSIDE).status_code == 200


def test_internal_token_is_required_when_configured_and_sent_by_callers(tmp_path):
    token = "internal-secret-123"
    users = make_user_app(f"sqlite:///{tmp_path}/u.db", INTERNAL_TOKEN=token)
    user_client = users.test_client()
    assert user_client.get("/users").status_code == 403
    assert user_client.get("/users", headers={"X-Internal-Token": "wrong"}).status_code == 403
    assert user_client.get("/users", headers={"X-Internal-Token": token}).status_code == 200
    assert user_client.get("/health/ready").status_code == 200  # probes need no token

    server = ServerThread(users)
    try:
        orders = make_order_app(f"sqlite:///{tmp_path}/o.db", (server.url,), INTERNAL_TOKEN=token)
        order_server = ServerThread(orders)
        try:
            gateway = make_gateway_app({"user-service": (server.url,),
                                        "order-service": (order_server.url,)},
                                       INTERNAL_TOKEN=token).test_client()
            uid = gateway.post("/api/users", json={"name": "A", "email": "a@example.org"},
                               headers=AUTH).json["id"]
            created = gateway.post("/api/orders", headers=AUTH, json={
                "user_id": uid, "items": [{"sku": "a", "quantity": 1, "unit_price": "1.00"}]})
            assert created.status_code == 201
            # a gateway without the token is refused by both services
            bare = make_gateway_app({"user-service": (server.url,),
                                     "order-service": (order_server.url,)}).test_client()
            assert bare.get("/api/users", headers=AUTH).status_code == 403
        finally:
            order_server.stop()
    finally:
        server.stop()
