"""Traces: one trace spans gateway → order-service → user-service, exported over OTLP/HTTP to an
in-process receiver, with W3C trace context passed through every hop (services under gunicorn,
data in PostgreSQL)."""

from __future__ import annotations

import json
import urllib.request

import pytest
import requests
from flaskfleet_services.devtools import OtlpReceiver
from flaskfleet_services.kit.db import Database
from helpers import AUTH, ServiceProcess
from test_gunicorn import gateway_env

pytestmark = pytest.mark.postgres


def test_one_trace_spans_gateway_order_and_user_service(pg_url, tmp_path):
    database = Database(pg_url)
    database.upgrade("user_service")
    database.upgrade("order_service")
    with OtlpReceiver() as receiver:
        otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        user = ServiceProcess("user-service", {"DATABASE_URL": pg_url, **otel},
                              log_path=tmp_path / "user.log").wait_ready()
        order = ServiceProcess("order-service", {
            "DATABASE_URL": pg_url, "FLASKFLEET_DISCOVERY": "static",
            "FLASKFLEET_UPSTREAM_USER_SERVICE": user.url, **otel},
            log_path=tmp_path / "order.log").wait_ready()
        gateway = ServiceProcess("api-gateway", {**gateway_env(user.url, order.url), **otel},
                                 log_path=tmp_path / "gw.log").wait_ready()
        try:
            uid = requests.post(gateway.url + "/api/users", headers=AUTH, timeout=10,
                                json={"name": "Ada", "email": "ada@example.org"}).json()["id"]
            client_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
            client_span = "00f067aa0ba902b7"
            # urllib, not requests: in this test process requests may be instrumented (other
            # tests built apps here) and would replace our traceparent with its own.
            body = json.dumps({"user_id": uid, "items": [
                {"sku": "a", "quantity": 1, "unit_price": "1.00"}]}).encode()
            call = urllib.request.Request(gateway.url + "/api/orders", data=body, headers={
                **AUTH, "Content-Type": "application/json",
                "traceparent": f"00-{client_trace}-{client_span}-01"})
            with urllib.request.urlopen(call, timeout=10) as response:
                assert response.status == 201

            expected = {("api-gateway", "server"), ("api-gateway", "client"),
                        ("order-service", "server"), ("order-service", "client"),
                        ("user-service", "server")}

            def complete(spans):
                return {(s.service, s.kind) for s in spans if s.trace_id == client_trace} >= \
                    expected

            receiver.wait_for(complete, 30)
        finally:
            for service in (gateway, order, user):
                service.terminate()  # exporters flush what they still hold on SIGTERM
        spans = [s for s in receiver.wait_for(complete, 10) if s.trace_id == client_trace]
        assert complete(spans), (
            f"spans of the trace: {spans}; export requests received: {receiver.requests}; "
            f"gateway log: {gateway.log_tail(5)}; order log: {order.log_tail(5)}")

    by_id = {s.span_id: s for s in spans}
    services = {s.service for s in spans}
    assert services == {"api-gateway", "order-service", "user-service"}, spans

    def server_span(service):
        return next(s for s in spans if s.service == service and s.kind == "server")

    gateway_server = server_span("api-gateway")
    assert gateway_server.parent_span_id == client_span  # the caller's context was continued
    order_server = server_span("order-service")
    user_server = server_span("user-service")
    # each server span's parent is the calling service's client span, inside its server span
    for callee, caller in ((order_server, "api-gateway"), (user_server, "order-service")):
        parent = by_id[callee.parent_span_id]
        assert parent.service == caller
        assert parent.kind == "client"
        assert by_id[parent.parent_span_id] == server_span(caller)
    # logs carry the same trace id
    for name in ("gw.log", "order.log", "user.log"):
        assert client_trace in (tmp_path / name).read_text()
