"""Discovery against a real Consul agent: passing instances only, cached, failover between two
user-service instances when one dies, stale answers while Consul is briefly unreachable."""

from __future__ import annotations

import time

import pytest
import requests
from conftest import make_user_app
from flaskfleet_services import api_gateway
from flaskfleet_services.kit.discovery import ConsulDiscovery, DiscoveryError
from helpers import API_KEYS, AUTH, ServerThread, free_port, wait_until

pytestmark = pytest.mark.consul


@pytest.fixture
def two_user_instances(consul, tmp_path):
    """Two user-service instances on one database, registered with HTTP health checks."""
    app = make_user_app(f"sqlite:///{tmp_path}/users.db")
    servers = [ServerThread(app), ServerThread(app)]
    name = "user-service"  # deregistered at teardown: the next test starts clean
    for n, server in enumerate(servers):
        consul.register(f"{name}-{n}", name, server.port)
    wait_until(lambda: len(consul.passing(name)) == 2, 20, "both instances passing")
    yield name, servers
    for n, server in enumerate(servers):
        requests.put(f"{consul.url}/v1/agent/service/deregister/{name}-{n}", timeout=5)
        server.stop()


def consul_gateway(consul, **config):
    app = api_gateway.create_app({
        "TESTING": True, "DISCOVERY": "consul", "CONSUL_HTTP_ADDR": consul.url,
        "DISCOVERY_TTL": 0.5, "API_KEYS": API_KEYS, "UPSTREAM_READ_TIMEOUT": 2.0, **config})
    return app.test_client(), app.extensions["flaskfleet.discovery"]


def test_discovery_returns_only_passing_instances(consul, two_user_instances):
    name, servers = two_user_instances
    dead_port = free_port()
    consul.register(f"{name}-dead", name, dead_port)  # registered, check never passes
    try:
        time.sleep(2.5)  # several check intervals
        discovery = ConsulDiscovery(consul.url, ttl=0)
        assert discovery.instances(name) == sorted(s.url for s in servers)
    finally:
        requests.put(f"{consul.url}/v1/agent/service/deregister/{name}-dead", timeout=5)


def test_unknown_service_is_a_discovery_error_and_a_503(consul):
    discovery = ConsulDiscovery(consul.url, ttl=0)
    with pytest.raises(DiscoveryError, match="no passing instance"):
        discovery.instances("nothing-registered-here")
    client, _ = consul_gateway(consul)
    response = client.get("/api/orders", headers=AUTH)  # no order-service registered
    assert response.status_code == 503
    assert response.json["error"]["code"] == "service_unavailable"


def test_gateway_fails_over_when_one_instance_dies(consul, two_user_instances):
    name, servers = two_user_instances
    client, discovery = consul_gateway(consul)
    created = client.post("/api/users", json={"name": "A", "email": "a@example.org"},
                          headers=AUTH)
    assert created.status_code == 201
    served_before = {s.url for s in servers}
    assert sorted(discovery.instances("user-service")) == sorted(served_before)

    servers[0].stop()  # instance 0 dies; Consul does not know yet
    statuses = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        statuses.append(client.get("/api/users", headers=AUTH).status_code)
        if consul.passing(name) == [servers[1].port] and len(statuses) >= 20:
            break
        time.sleep(0.1)
    assert consul.passing(name) == [servers[1].port], "consul never marked the dead instance"
    assert set(statuses) == {200}, "a GET failed during failover"
    time.sleep(0.6)  # past the discovery cache
    assert discovery.instances("user-service") == [servers[1].url]
    assert client.get("/api/users", headers=AUTH).json["items"][0]["email"] == "a@example.org"


def test_stays_ready_on_cached_answers_while_consul_is_unreachable_then_503(
    consul, two_user_instances
):
    name, servers = two_user_instances
    discovery = ConsulDiscovery(consul.url, ttl=0.2, max_stale=1.0)
    expected = sorted(s.url for s in servers)
    assert discovery.instances(name) == expected
    discovery.address = f"http://127.0.0.1:{free_port()}"  # Consul "goes away"
    ready, reason = discovery.check()
    assert ready, reason  # still serving: readiness must not drop every instance at once
    assert "serving cached instances" in reason
    time.sleep(0.3)
    assert discovery.instances(name) == expected  # stale but within max_stale
    time.sleep(1.0)
    with pytest.raises(DiscoveryError, match="consul unreachable"):
        discovery.instances(name)
    assert discovery.check()[0] is False


def test_discovery_caches_answers_for_the_ttl(consul, two_user_instances):
    name, _ = two_user_instances
    discovery = ConsulDiscovery(consul.url, ttl=30)
    calls = []
    original = discovery._fetch
    discovery._fetch = lambda svc: calls.append(svc) or original(svc)
    for _ in range(10):
        discovery.instances(name)
    assert calls == [name]


def test_gateway_readiness_follows_consul(consul):
    client, _ = consul_gateway(consul)
    assert client.get("/health/ready").status_code == 200
    gone, _ = consul_gateway(consul, CONSUL_HTTP_ADDR=f"http://127.0.0.1:{free_port()}")
    assert gone.get("/health/ready").status_code == 503
