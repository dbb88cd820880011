"""Where the instances of a service are: Consul's health API (passing only), or a static list.

Consul answers are cached for ``ttl`` seconds; when Consul cannot be reached a cached answer keeps
serving for up to ``max_stale`` seconds, then discovery fails (the caller answers 503).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

import requests

log = logging.getLogger("flaskfleet.discovery")


class DiscoveryError(Exception):
    """No instance can be named (none passing, none configured, or Consul unreachable)."""


class StaticDiscovery:
    """Fixed instance lists, for a laptop or a test: {"user-service": ("http://…",)}."""

    kind = "static"

    def __init__(self, upstreams: Mapping[str, tuple[str, ...]]):
        self.upstreams = dict(upstreams)

    def instances(self, service: str) -> list[str]:
        found = list(self.upstreams.get(service, ()))
        if not found:
            raise DiscoveryError(f"no static upstream configured for {service}")
        return found

    def check(self) -> tuple[bool, str]:
        missing = [name for name, urls in self.upstreams.items() if not urls]
        if missing:
            return False, "no static upstream for " + ", ".join(missing)
        return True, "static upstreams configured"


class ConsulDiscovery:
    kind = "consul"

    def __init__(self, address: str, token: str | None = None, ttl: float = 5.0,
                 max_stale: float = 60.0, timeout: float = 1.0):
        self.address = address.rstrip("/")
        self.ttl = ttl
        self.max_stale = max_stale
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False  # the local agent, never through a proxy
        if token:
            self._session.headers["X-Consul-Token"] = token
        self._cache: dict[str, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()

    def _fetch(self, service: str) -> list[str]:
        response = self._session.get(f"{self.address}/v1/health/service/{service}",
                                     params={"passing": "true"}, timeout=self.timeout)
        response.raise_for_status()
        found = []
        for entry in response.json():
            svc = entry.get("Service") or {}
            host = svc.get("Address") or (entry.get("Node") or {}).get("Address")
            port = svc.get("Port")
            if host and port:
                if ":" in host and not host.startswith("["):
                    host = f"[{host}]"  # IPv6
                found.append(f"http://{host}:{port}")
        return sorted(found)

    def instances(self, service: str) -> list[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(service)
        if cached and now - cached[0] < self.ttl:
            found = cached[1]
        else:
            try:
                found = self._fetch(service)
            except (requests.RequestException, ValueError) as exc:
                if cached and now - cached[0] < self.max_stale:
                    log.warning("consul unreachable, serving cached instances",
                                extra={"upstream": service, "error": str(exc)})
                    return cached[1]
                raise DiscoveryError(f"consul unreachable: {exc.__class__.__name__}") from exc
            with self._lock:
                self._cache[service] = (now, found)
        if not found:
            raise DiscoveryError(f"no passing instance of {service} in consul")
        return found

    def check(self) -> tuple[bool, str]:
        """Ready while Consul answers with a leader, or while answers cached less than
        max_stale ago can still be served: a Consul election or a restarting agent must
        not take every instance out of routing at once (routers and Consul itself act
        on this readiness)."""
        try:
            response = self._session.get(f"{self.address}/v1/status/leader", timeout=self.timeout)
            response.raise_for_status()
            leader = response.json()
        except (requests.RequestException, ValueError) as exc:
            problem = f"consul unreachable: {exc.__class__.__name__}"
        else:
            if leader:
                return True, "consul reachable"
            problem = "consul has no leader"
        now = time.monotonic()
        with self._lock:
            serving = any(now - fetched < self.max_stale for fetched, _ in self._cache.values())
        if serving:
            return True, f"{problem}; serving cached instances"
        return False, problem


def from_config(config, upstreams: Mapping[str, tuple[str, ...]]):
    if config["DISCOVERY"] == "static":
        return StaticDiscovery(upstreams)
    return ConsulDiscovery(config["CONSUL_HTTP_ADDR"], config.get("CONSUL_HTTP_TOKEN"),
                           ttl=config["DISCOVERY_TTL"], max_stale=config["DISCOVERY_MAX_STALE"])
