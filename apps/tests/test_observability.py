"""Every service: health, Prometheus metrics per route, JSON logs with request/trace/span ids,
and an OpenAPI document that is valid and covers every route."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from flaskfleet_services.kit.logging import JsonFormatter
from helpers import AUTH
from openapi_spec_validator import validate


@pytest.fixture
def clients(client, order_client, gateway):
    return {"user-service": client, "order-service": order_client, "api-gateway": gateway}


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    logging.getLogger().addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)


def metric(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.index("}")]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.parametrize("service", ["user-service", "order-service", "api-gateway"])
def test_liveness_and_readiness_answer_200_when_dependencies_are_up(clients, service):
    live = clients[service].get("/health/live")
    ready = clients[service].get("/health/ready")
    assert (live.status_code, live.json["status"]) == (200, "live")
    assert (ready.status_code, ready.json["status"]) == (200, "ready")
    assert all(c["ok"] for c in ready.json["checks"].values() if c["required"])


def test_readiness_is_503_when_the_database_is_gone(app, client, tmp_path):
    app.extensions["flaskfleet.db"].engine.dispose()
    (tmp_path / "users.db").unlink()
    (tmp_path / "users.db").mkdir()  # sqlite cannot open a directory
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "not_ready"
    assert response.json["error"]["details"]["checks"]["database"]["ok"] is False
    assert client.get("/health/live").status_code == 200


def test_gateway_readiness_is_503_without_upstream_configuration():
    from conftest import make_gateway_app

    client = make_gateway_app({"user-service": (), "order-service": ()}).test_client()
    assert client.get("/health/ready").status_code == 503


def test_metrics_count_requests_latency_and_errors_per_route(client):
    client.post("/users", json={"name": "A", "email": "a@example.org"})
    client.get("/users/1")
    client.get("/users/1")
    client.get("/users/2")
    text = client.get("/metrics").get_data(as_text=True)
    route = "/users/<id:user_id>"
    assert metric(text, "http_requests_total", route=route, method="GET", status="200") == 2
    assert metric(text, "http_requests_total", route=route, method="GET", status="404") == 1
    assert metric(text, "http_request_errors_total", route=route, **{"class": "4xx"}) == 1
    assert metric(text, "http_requests_total", route="/users", method="POST",
                  status="201") == 1
    assert metric(text, "http_request_duration_seconds_count", route=route) == 3
    assert "http_requests_in_flight" in text


def test_in_flight_gauge_counts_the_running_request(app, client):
    seen = []

    @app.get("/_probe")
    def probe():
        text = app.extensions["flaskfleet.metrics"].render().decode()
        seen.append(metric(text, "http_requests_in_flight", service="user-service"))
        return {}

    client.get("/_probe")
    after = app.extensions["flaskfleet.metrics"].render().decode()
    assert seen == [1.0]
    assert metric(after, "http_requests_in_flight", service="user-service") == 0


def test_gateway_metrics_count_upstream_calls_by_outcome(gateway):
    gateway.get("/api/users", headers=AUTH)
    text = gateway.get("/metrics").get_data(as_text=True)
    assert metric(text, "upstream_requests_total", upstream="user-service", outcome="ok") == 1
    assert metric(text, "upstream_request_duration_seconds_count", upstream="user-service") == 1


def test_logs_are_json_with_request_trace_and_span_ids(client, json_log):
    client.get("/users", headers={"X-Request-ID": "req-42"})
    access = [e for e in json_log() if e["logger"] == "flaskfleet.access"]
    assert len(access) == 1
    entry = access[0]
    assert entry["request_id"] == "req-42"
    assert re.fullmatch(r"[0-9a-f]{32}", entry["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", entry["span_id"])
    assert entry["http_status"] == 200
    assert entry["http_route"] == "/users"
    assert entry["service"] == "user-service"


def test_incoming_traceparent_is_continued_in_logs(client, json_log):
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    client.get("/users", headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})
    entry = next(e for e in json_log() if e["logger"] == "flaskfleet.access")
    assert entry["trace_id"] == trace_id


def test_unsafe_request_id_is_replaced_by_a_fresh_one(client):
    response = client.get("/users", headers={"X-Request-ID": "bad id\twith spaces" * 20})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_unexpected_exception_is_500_json_without_traceback_and_logged(app, client, json_log):
    @app.get("/_boom")
    def boom():
        raise RuntimeError("database password is hunter2")

    response = client.get("/_boom")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "hunter2" not in response.get_data(as_text=True)
    logged = [e for e in json_log() if e["logger"] == "flaskfleet.errors"]
    assert "RuntimeError" in logged[0]["exception"]
    assert logged[0]["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize("service", ["user-service", "order-service", "api-gateway"])
def test_openapi_document_is_valid_and_covers_every_route(clients, service):
    client = clients[service]
    doc = client.get("/openapi.json").json
    validate(doc)
    app = client.application
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"][path], f"{method} {path} undocumented"


def test_gateway_openapi_marks_the_public_api_as_authenticated(gateway):
    doc = gateway.get("/openapi.json").json
    assert doc["paths"]["/api/users"]["get"]["security"]
    assert "security" not in doc["paths"]["/health/live"]["get"]
    schema = doc["paths"]["/api/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert schema["schema"]["$ref"] == "#/components/schemas/OrderCreate"
