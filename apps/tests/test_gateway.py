"""api-gateway: auth, every public endpoint, composition, and upstream failures
(no instance → 503, unreachable or failing → 502, slow → 504), retries for idempotent
requests only, pooled connections."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import make_gateway_app
from flaskfleet_services.kit.security import hash_key, match_api_key, parse_api_keys
from helpers import API_KEY, AUTH, ScriptedUpstream, ServerThread, free_port, json_response
from werkzeug.wrappers import Response

USER = '{"id": 1, "name": "A", "email": "a@example.org"}'


# --- credential ------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_KEY}"},
    {"X-API-Key": ""}, {"Authorization": "Bearer "}, {"X-API-Key": API_KEY + "x"}])
def test_public_api_refuses_missing_or_wrong_key_with_401(gateway, headers):
    for method, path in (("get", "/api/users"), ("post", "/api/users"),
                         ("get", "/api/orders/1"), ("get", "/api/users/1/with-orders")):
        response = getattr(gateway, method)(path, headers=headers, json={"name": "x"})
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unauthorized_request_writes_nothing(gateway):
    gateway.post("/api/users", json={"name": "A", "email": "a@example.org"})
    assert gateway.get("/api/users", headers=AUTH).json["items"] == []


@pytest.mark.parametrize("headers", [AUTH, {"X-API-Key": API_KEY},
                                     {"Authorization": f"bearer {API_KEY}"}])
def test_public_api_accepts_a_configured_key(gateway, headers):
    assert gateway.get("/api/users", headers=headers).status_code == 200


def test_operational_endpoints_need_no_key(gateway):
    for path in ("/health/live", "/health/ready", "/metrics", "/openapi.json"):
        assert gateway.get(path).status_code == 200, path


def test_keys_are_configured_as_digests_and_matched_by_digest():
    digest = hash_key("s3cret")
    keys = parse_api_keys(f"laptop:{digest},ci:{hash_key('other')}")
    assert match_api_key("s3cret", keys) == "laptop"
    assert match_api_key("s3cret ", keys) is None
    assert match_api_key(digest, keys) is None  # the digest itself is no key


@pytest.mark.parametrize("raw", ["laptop:s3cret", "laptop", ":" + "a" * 64, "", "a b:" + "0" * 64])
def test_clear_text_or_malformed_key_config_is_refused(raw):
    with pytest.raises(ValueError, match=r"NAME:SHA256HEX|no API key"):
        parse_api_keys(raw)


# --- forwarding ------------------------------------------------------------------------------

def test_full_user_lifecycle_through_the_gateway(gateway):
    created = gateway.post("/api/users", json={"name": "Ada", "email": "ada@example.org"},
                           headers=AUTH)
    assert created.status_code == 201
    assert created.headers["Location"] == f"/api/users/{created.json['id']}"
    uid = created.json["id"]
    assert gateway.get(f"/api/users/{uid}", headers=AUTH).json == created.json
    assert gateway.get("/api/users?limit=5", headers=AUTH).json["items"] == [created.json]
    patched = gateway.patch(f"/api/users/{uid}", json={"name": "Ada L."}, headers=AUTH)
    assert patched.status_code == 200
    assert patched.json["name"] == "Ada L."
    assert gateway.delete(f"/api/users/{uid}", headers=AUTH).status_code == 204
    assert gateway.get(f"/api/users/{uid}", headers=AUTH).status_code == 404


def test_full_order_lifecycle_through_the_gateway(gateway):
    uid = gateway.post("/api/users", json={"name": "Ada", "email": "ada@example.org"},
                       headers=AUTH).json["id"]
    created = gateway.post("/api/orders", headers=AUTH, json={
        "user_id": uid, "items": [{"sku": "a", "quantity": 2, "unit_price": "1.25"}]})
    assert created.status_code == 201
    oid = created.json["id"]
    assert created.json["total"] == "2.50"
    assert gateway.get(f"/api/orders/{oid}", headers=AUTH).json == created.json
    listed = gateway.get(f"/api/orders?user_id={uid}", headers=AUTH).json
    assert [o["id"] for o in listed["items"]] == [oid]
    cancelled = gateway.post(f"/api/orders/{oid}/cancel", headers=AUTH)
    assert cancelled.json["status"] == "cancelled"
    assert gateway.post(f"/api/orders/{oid}/cancel", headers=AUTH).status_code == 409


def test_composition_returns_user_with_their_orders_only(gateway):
    a = gateway.post("/api/users", json={"name": "A", "email": "a@example.org"},
                     headers=AUTH).json
    b = gateway.post("/api/users", json={"name": "B", "email": "b@example.org"},
                     headers=AUTH).json
    for uid in (a["id"], b["id"], a["id"]):
        gateway.post("/api/orders", headers=AUTH, json={
            "user_id": uid, "items": [{"sku": "s", "quantity": 1, "unit_price": "3.00"}]})
    response = gateway.get(f"/api/users/{a['id']}/with-orders?limit=1", headers=AUTH)
    assert response.status_code == 200
    body = response.json
    assert body["user"] == a
    assert [o["user_id"] for o in body["orders"]] == [a["id"]]
    assert body["orders_next_after"] is not None
    rest = gateway.get(f"/api/users/{a['id']}/with-orders?after={body['orders_next_after']}",
                       headers=AUTH).json
    assert len(rest["orders"]) == 1
    assert rest["orders_next_after"] is None


def test_composition_of_unknown_user_is_404(gateway):
    response = gateway.get("/api/users/999/with-orders", headers=AUTH)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


# --- upstream failures -----------------------------------------------------------------------

def gateway_for(user_urls, order_urls=("http://127.0.0.1:9",), **config):
    return make_gateway_app({"user-service": tuple(user_urls),
                             "order-service": tuple(order_urls)}, **config).test_client()


def test_no_instance_is_503_json():
    response = gateway_for(()).get("/api/users", headers=AUTH)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "service_unavailable"
    assert response.json["error"]["details"]["upstream"] == "user-service"


def test_unreachable_instances_are_502_json():
    client = gateway_for([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"])
    response = client.get("/api/users", headers=AUTH)
    assert response.status_code == 502
    assert response.json["error"]["code"] == "bad_gateway"


def test_slow_upstream_is_504_after_the_read_timeout():
    slow = ScriptedUpstream(json_response("[]", delay=2))
    try:
        client = gateway_for([slow.url], UPSTREAM_READ_TIMEOUT=0.2, UPSTREAM_RETRIES=0)
        response = client.get("/api/users", headers=AUTH)
        assert response.status_code == 504
        assert response.json["error"]["code"] == "gateway_timeout"
    finally:
        slow.stop()


def test_upstream_500_becomes_502_without_leaking_its_body_and_is_not_retried():
    broken = ScriptedUpstream(lambda _r: Response("Traceback: secret", status=500))
    try:
        response = gateway_for([broken.url]).get("/api/users", headers=AUTH)
        assert response.status_code == 502
        assert "secret" not in response.get_data(as_text=True)
        assert broken.count() == 1
    finally:
        broken.stop()


def test_non_json_upstream_answer_becomes_502():
    html = ScriptedUpstream(lambda _r: Response("<html>", status=200, content_type="text/html"))
    try:
        assert gateway_for([html.url]).get("/api/users", headers=AUTH).status_code == 502
    finally:
        html.stop()


def test_idempotent_get_is_retried_on_the_other_instance_after_a_503():
    failing = ScriptedUpstream(json_response('{"error": {}}', status=503))
    healthy = ScriptedUpstream(json_response('{"items": [], "next_after": null}'))
    try:
        client = gateway_for([failing.url, healthy.url], UPSTREAM_RETRIES=1)
        for _ in range(4):  # round-robin starts on each instance in turn
            assert client.get("/api/users", headers=AUTH).status_code == 200
        assert failing.count("GET") >= 1
        assert healthy.count("GET") == 4
    finally:
        failing.stop()
        healthy.stop()


def test_idempotent_get_fails_over_from_a_dead_instance():
    healthy = ScriptedUpstream(json_response(USER))
    dead = f"http://127.0.0.1:{free_port()}"
    try:
        client = gateway_for([dead, healthy.url], UPSTREAM_RETRIES=1)
        assert all(client.get("/api/users/1", headers=AUTH).status_code == 200
                   for _ in range(6))
    finally:
        healthy.stop()


def test_timed_out_get_is_retried_then_504_with_attempt_count():
    slow = ScriptedUpstream(json_response("{}", delay=1))
    try:
        client = gateway_for([slow.url], UPSTREAM_READ_TIMEOUT=0.2, UPSTREAM_RETRIES=2)
        response = client.get("/api/users/1", headers=AUTH)
        assert response.status_code == 504
        assert response.json["error"]["details"]["attempts"] == 3
        assert slow.count("GET") == 3
    finally:
        slow.stop()


@pytest.mark.parametrize(("method", "path"), [("post", "/api/users"),
                                              ("patch", "/api/users/1"),
                                              ("post", "/api/orders/1/cancel")])
def test_non_idempotent_request_is_sent_once_even_when_it_fails(method, path):
    failing = ScriptedUpstream(json_response('{"error": {}}', status=503))
    slow = ScriptedUpstream(json_response("{}", delay=1))
    try:
        for upstream, status in ((failing, 502), (slow, 504)):
            client = gateway_for([upstream.url], [upstream.url], UPSTREAM_RETRIES=3,
                                 UPSTREAM_READ_TIMEOUT=0.2)
            response = getattr(client, method)(path, json={"name": "x"}, headers=AUTH)
            assert response.status_code == status
            assert upstream.count(method.upper()) == 1
    finally:
        failing.stop()
        slow.stop()


def test_upstream_connections_are_pooled_and_reused():
    connections = set()

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            connections.add(self.client_address[1])
            body = b'{"items": [], "next_after": null}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        client = gateway_for([f"http://127.0.0.1:{server.server_address[1]}"])
        for _ in range(20):
            assert client.get("/api/users", headers=AUTH).status_code == 200
        assert len(connections) == 1
    finally:
        server.shutdown()
        server.server_close()


def test_request_id_is_passed_to_the_upstream_and_echoed():
    upstream = ScriptedUpstream(json_response(USER))
    try:
        client = gateway_for([upstream.url])
        response = client.get("/api/users/1", headers={**AUTH, "X-Request-ID": "abc-123"})
        assert response.headers["X-Request-ID"] == "abc-123"
        sent = upstream.hits[-1][2]
        assert sent["X-Request-Id"] == "abc-123"
        assert "traceparent" in {k.lower() for k in sent}
        assert "authorization" not in {k.lower() for k in sent}  # the key stays at the edge
    finally:
        upstream.stop()


def test_gateway_serves_concurrent_requests_through_real_servers(gateway_app):
    server = ServerThread(gateway_app)
    import requests

    errors = []

    def hammer():
        for _ in range(10):
            r = requests.get(server.url + "/api/users", headers=AUTH, timeout=5)
            if r.status_code != 200:
                errors.append(r.status_code)

    try:
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
    finally:
        server.stop()
