"""Internal services answer only the internal network (and the internal token when set), and
accept more than one token while the token is rotated."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from conftest import make_gateway_app, make_order_app, make_user_app
from flask import request
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


# Rotating the internal token: a service accepts INTERNAL_TOKEN and INTERNAL_TOKENS_ACCEPTED,
# callers send INTERNAL_TOKEN only.
OLD, NEW, OTHER = "token-old-0123", "token-new-4567", "token-other-89ab"
REFUSED = {"error": {"code": "forbidden",
                     "message": "internal service: missing or wrong X-Internal-Token",
                     "details": {}}}


def test_service_accepts_its_token_and_the_accepted_ones_and_refuses_others(tmp_path):
    users = make_user_app(f"sqlite:///{tmp_path}/u.db", INTERNAL_TOKEN=NEW,
                          INTERNAL_TOKENS_ACCEPTED=(OLD,)).test_client()
    for token in (NEW, OLD):
        assert users.get("/users", headers={"X-Internal-Token": token}).status_code == 200
    for headers in ({"X-Internal-Token": OTHER}, {"X-Internal-Token": ""}, {}):
        response = users.get("/users", headers=headers)
        assert response.status_code == 403
        assert response.json == REFUSED
    assert users.get("/health/ready").status_code == 200  # probes need no token


def test_accepted_tokens_alone_still_require_a_token(tmp_path):
    users = make_user_app(f"sqlite:///{tmp_path}/u.db", INTERNAL_TOKENS_ACCEPTED=(OLD, NEW))
    client = users.test_client()
    assert client.get("/users").json == REFUSED
    assert client.get("/users", headers={"X-Internal-Token": OTHER}).status_code == 403
    for token in (OLD, NEW):
        assert client.get("/users", headers={"X-Internal-Token": token}).status_code == 200


def test_no_token_configured_requires_none(tmp_path):
    users = make_user_app(f"sqlite:///{tmp_path}/u.db")
    assert users.config["INTERNAL_TOKENS_ACCEPTED"] == ()
    assert users.test_client().get("/users").status_code == 200


def test_the_presented_token_is_compared_with_every_accepted_token(monkeypatch):
    """No early exit: a match on the first token costs as many comparisons as no match."""
    from flaskfleet_services.kit import security

    compared = []

    def compare_digest(a, b):
        compared.append(b)
        return a == b

    monkeypatch.setattr(security.hmac, "compare_digest", compare_digest)
    tokens = (NEW, OLD, OTHER)
    for presented in (NEW, OTHER, "nope"):
        compared.clear()
        assert security.match_internal_token(presented, tokens) is (presented in tokens)
        assert compared == [security.hash_key(t) for t in tokens]


# The rotation, as the two settings of every instance in each phase. Each phase is rolled out
# instance by instance, so during a transition the fleet runs the phase before and the one after.
PHASES = [
    {"INTERNAL_TOKEN": OLD, "INTERNAL_TOKENS_ACCEPTED": ()},  # before: send and accept OLD
    {"INTERNAL_TOKEN": OLD, "INTERNAL_TOKENS_ACCEPTED": (NEW,)},  # 1: send OLD, accept OLD+NEW
    {"INTERNAL_TOKEN": NEW, "INTERNAL_TOKENS_ACCEPTED": (OLD,)},  # 2: send NEW, accept NEW+OLD
    {"INTERNAL_TOKEN": NEW, "INTERNAL_TOKENS_ACCEPTED": ()},  # 3: send NEW, accept NEW only
]


def _record_calls(app, name: str, seen: list) -> None:
    """Note (instance, token presented, status) of every API call the instance answers."""

    @app.after_request
    def _note(response):
        if request.path.startswith(("/users", "/orders")):
            seen.append((name, request.headers.get("X-Internal-Token"), response.status_code))
        return response


@pytest.mark.parametrize("phase", [1, 2, 3], ids=lambda p: f"phase{p - 1}-to-phase{p}")
def test_a_fleet_half_way_through_a_rotation_phase_refuses_no_call(tmp_path, phase):
    """Each service runs one instance not yet updated (phase - 1) and one updated (phase);
    every gateway and order-service instance calls every user- and order-service instance."""
    before, after = PHASES[phase - 1], PHASES[phase]
    seen: list[tuple[str, str | None, int]] = []
    with ExitStack() as stack:
        user_urls = []
        for name, config in (("user-before", before), ("user-after", after)):
            app = make_user_app(f"sqlite:///{tmp_path}/u.db", **config)
            _record_calls(app, name, seen)
            server = ServerThread(app)
            stack.callback(server.stop)
            user_urls.append(server.url)
        order_urls = []
        for name, config in (("order-before", before), ("order-after", after)):
            app = make_order_app(f"sqlite:///{tmp_path}/o.db", tuple(user_urls), **config)
            _record_calls(app, name, seen)
            server = ServerThread(app)
            stack.callback(server.stop)
            order_urls.append(server.url)
        upstreams = {"user-service": tuple(user_urls), "order-service": tuple(order_urls)}
        for g, config in enumerate((before, after)):
            gateway = make_gateway_app(upstreams, **config).test_client()
            # Consecutive calls go round-robin over the instances: each batch reaches both.
            uid = None
            for n in range(2):
                created = gateway.post("/api/users", headers=AUTH, json={
                    "name": "A", "email": f"a{n}@gateway{g}.example.org"})
                assert created.status_code == 201, created.json
                uid = created.json["id"]
            for _ in range(4):
                listed = gateway.get("/api/users", headers=AUTH)
                assert listed.status_code == 200, listed.json
            for _ in range(4):
                order = gateway.post("/api/orders", headers=AUTH, json={
                    "user_id": uid, "items": [{"sku": "a", "quantity": 1, "unit_price": "1.00"}]})
                assert order.status_code == 201, order.json
    assert [call for call in seen if call[2] >= 400] == []
    # Every instance answered every token the fleet sends in this transition.
    sent = {before["INTERNAL_TOKEN"], after["INTERNAL_TOKEN"]}
    for name in ("user-before", "user-after", "order-before", "order-after"):
        assert {token for instance, token, _ in seen if instance == name} == sent, name


@pytest.mark.parametrize(("caller", "service"), [(0, 3), (1, 3), (2, 0), (3, 0)])
def test_skipping_a_rotation_phase_refuses_calls(tmp_path, caller, service):
    """Why a phase must be rolled out everywhere before the next starts: a caller and a service
    two phases apart may share no token."""
    users = make_user_app(f"sqlite:///{tmp_path}/u.db", **PHASES[service])
    server = ServerThread(users)
    try:
        gateway = make_gateway_app({"user-service": (server.url,), "order-service": ()},
                                   **PHASES[caller]).test_client()
        assert gateway.get("/api/users", headers=AUTH).status_code == 403
    finally:
        server.stop()
