"""The services as they run in production: under gunicorn (``flaskfleet serve``), several
workers, metrics aggregated across workers, JSON logs only, graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flaskfleet_services.kit.db import Database
from helpers import API_KEYS, AUTH, ScriptedUpstream, ServiceProcess, json_response
from test_observability import metric

pytestmark = pytest.mark.postgres


@pytest.fixture
def migrated_pg(pg_url):
    database = Database(pg_url)
    database.upgrade("user_service")
    database.upgrade("order_service")
    return pg_url


def gateway_env(user_url: str, order_url: str) -> dict[str, str]:
    return {"FLASKFLEET_API_KEYS": f"{API_KEYS[0][0]}:{API_KEYS[0][1]}",
            "FLASKFLEET_DISCOVERY": "static", "FLASKFLEET_UPSTREAM_USER_SERVICE": user_url,
            "FLASKFLEET_UPSTREAM_ORDER_SERVICE": order_url}


def test_metrics_add_up_over_all_gunicorn_workers(migrated_pg, tmp_path):
    service = ServiceProcess("user-service", {"DATABASE_URL": migrated_pg}, workers=2,
                             log_path=tmp_path / "user.log").wait_ready()
    try:
        def five(_):
            for _ in range(5):  # a new connection each time: spread over both workers
                response = requests.get(service.url + "/users", timeout=5,
                                        headers={"Connection": "close"})
                assert response.status_code == 200

        def worker_pids() -> set[int]:
            return {json.loads(line)["pid"]
                    for line in (tmp_path / "user.log").read_text().splitlines()
                    if '"http_path":"/users"' in line}

        sent = 0
        deadline = time.monotonic() + 60
        while len(worker_pids()) < 2 and time.monotonic() < deadline:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(five, range(8)))
            sent += 40
        assert len(worker_pids()) == 2, "both workers should have served requests"
        text = requests.get(service.url + "/metrics", timeout=5).text
        assert metric(text, "http_requests_total", route="/users", status="200") == sent
        assert "http_requests_in_flight" in text
        for line in (tmp_path / "user.log").read_text().splitlines():
            json.loads(line)  # every line, gunicorn's too, is JSON
    finally:
        assert service.terminate() == 0


def test_sigterm_lets_the_in_flight_request_finish(tmp_path):
    slow = ScriptedUpstream(json_response('{"items": [], "next_after": null}', delay=2))
    gateway = ServiceProcess("api-gateway", gateway_env(slow.url, slow.url),
                             log_path=tmp_path / "gw.log").wait_ready()
    result = {}

    def call():
        result["response"] = requests.get(gateway.url + "/api/users", headers=AUTH, timeout=15)

    try:
        caller = threading.Thread(target=call)
        caller.start()
        deadline = time.monotonic() + 5
        while slow.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slow.count() == 1, "the request never reached the upstream"
        started = time.monotonic()
        gateway.proc.send_signal(signal.SIGTERM)
        caller.join(15)
        assert result["response"].status_code == 200
        assert gateway.proc.wait(15) == 0
        assert time.monotonic() - started < 10
    finally:
        gateway.terminate()
        slow.stop()


def test_gunicorn_gateway_pools_connections_to_gunicorn_user_service(migrated_pg, tmp_path):
    user = ServiceProcess("user-service", {"DATABASE_URL": migrated_pg},
                          log_path=tmp_path / "user.log").wait_ready()
    gateway = ServiceProcess("api-gateway", gateway_env(user.url, user.url),
                             log_path=tmp_path / "gw.log").wait_ready()
    try:
        session = requests.Session()
        for _ in range(30):
            assert session.get(gateway.url + "/api/users", headers=AUTH,
                               timeout=5).status_code == 200
        ports = set()
        for line in (tmp_path / "user.log").read_text().splitlines():
            entry = json.loads(line)
            if entry.get("http_path") == "/users":
                ports.add(entry["remote_port"])
        # 30 requests, a handful of connections (one per gateway thread at most)
        assert 1 <= len(ports) <= 8
    finally:
        gateway.terminate()
        user.terminate()
