"""Calls to other services: discovery, pooled connections, timeouts, retries, clear failures.

- Every call has a connect and a read timeout.
- Idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are retried on another instance after a
  connection failure, a timeout or a 502/503/504 answer; POST and PATCH are sent once.
- An instance that refused a connection is skipped for a few seconds (passive ejection), so a
  dead instance costs at most one failed attempt until Consul's health check notices.
- Failures become ApiError: 503 when no instance is known, 504 after a timeout, 502 otherwise.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time

import requests
from flask import g, has_request_context
from requests.adapters import HTTPAdapter

from .discovery import DiscoveryError
from .errors import ApiError
from .logging import REQUEST_ID_HEADER
from .security import INTERNAL_TOKEN_HEADER

log = logging.getLogger("flaskfleet.upstream")
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503, 504})


class UpstreamClient:
    def __init__(self, discovery, *, connect_timeout: float, read_timeout: float, retries: int,
                 pool_size: int, eject_seconds: float = 5.0, internal_token: str | None = None,
                 metrics=None, service: str = ""):
        self.discovery = discovery
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.eject_seconds = eject_seconds
        self.internal_token = internal_token
        self.metrics = metrics
        self.service = service
        self.session = requests.Session()
        # Service-to-service traffic never goes through an HTTP proxy from the environment (and
        # skipping the per-call proxy/netrc lookup is a measurable saving).
        self.session.trust_env = False
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._ejected: dict[str, float] = {}
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def _order(self, instances: list[str]) -> list[str]:
        """Round-robin start, healthy-looking instances first."""
        start = next(self._counter) % len(instances)
        rotated = instances[start:] + instances[:start]
        now = time.monotonic()
        with self._lock:
            fresh = [i for i in rotated if self._ejected.get(i, 0) <= now]
        return fresh + [i for i in rotated if i not in fresh]

    def _eject(self, instance: str) -> None:
        if self.eject_seconds:
            with self._lock:
                self._ejected[instance] = time.monotonic() + self.eject_seconds

    def _count(self, upstream: str, method: str, outcome: str, seconds: float | None) -> None:
        if self.metrics is not None:
            self.metrics.upstream.labels(self.service, upstream, method, outcome).inc()
            if seconds is not None:
                self.metrics.upstream_latency.labels(self.service, upstream).observe(seconds)

    def request(self, upstream: str, method: str, path: str, *, params=None, data: bytes | None
                = None, headers: dict[str, str] | None = None) -> requests.Response:
        method = method.upper()
        try:
            instances = self.discovery.instances(upstream)
        except DiscoveryError as exc:
            self._count(upstream, method, "no_instance", None)
            raise ApiError(503, "service_unavailable", f"{upstream} is unavailable",
                           {"upstream": upstream, "reason": str(exc)}) from None
        send_headers = {"Accept": "application/json"}
        if headers:
            send_headers.update(headers)
        if has_request_context() and g.get("request_id"):
            send_headers[REQUEST_ID_HEADER] = g.request_id
        if self.internal_token:
            send_headers[INTERNAL_TOKEN_HEADER] = self.internal_token
        attempts = 1 + self.retries if method in IDEMPOTENT else 1
        order = self._order(instances)
        failure: ApiError | None = None
        for attempt in range(attempts):
            instance = order[attempt % len(order)]
            started = time.perf_counter()
            try:
                response = self.session.request(method, instance + path, params=params,
                                                data=data, headers=send_headers,
                                                timeout=self.timeout, allow_redirects=False)
            except requests.Timeout as exc:
                connect = isinstance(exc, requests.ConnectTimeout)
                if connect:
                    self._eject(instance)
                self._count(upstream, method, "timeout", time.perf_counter() - started)
                failure = ApiError(504, "gateway_timeout", f"{upstream} did not answer in time",
                                   {"upstream": upstream, "phase": "connect" if connect
                                    else "read", "attempts": attempt + 1})
            except requests.ConnectionError:
                self._eject(instance)
                self._count(upstream, method, "connection_error", time.perf_counter() - started)
                failure = ApiError(502, "bad_gateway", f"{upstream} could not be reached",
                                   {"upstream": upstream, "attempts": attempt + 1})
            else:
                seconds = time.perf_counter() - started
                if response.status_code in RETRY_STATUSES or response.status_code >= 500:
                    self._count(upstream, method, f"status_{response.status_code}", seconds)
                    failure = ApiError(502, "bad_gateway", f"{upstream} failed",
                                       {"upstream": upstream, "status": response.status_code,
                                        "attempts": attempt + 1})
                    if response.status_code not in RETRY_STATUSES:
                        return response  # caller decides; a 500 is not retried
                else:
                    self._count(upstream, method, "ok", seconds)
                    return response
            log.warning("upstream attempt failed", extra={
                "upstream": upstream, "instance": instance, "attempt": attempt + 1,
                "attempts": attempts, "error_code": failure.code})
        assert failure is not None
        raise failure


def from_app(app, discovery, service: str) -> UpstreamClient:
    """The upstream client of an app, configured from its UPSTREAM_* settings."""
    config = app.config
    return UpstreamClient(
        discovery, connect_timeout=config["UPSTREAM_CONNECT_TIMEOUT"],
        read_timeout=config["UPSTREAM_READ_TIMEOUT"], retries=config["UPSTREAM_RETRIES"],
        pool_size=config["UPSTREAM_POOL_SIZE"], eject_seconds=config["UPSTREAM_EJECT_SECONDS"],
        internal_token=config.get("INTERNAL_TOKEN"),
        metrics=app.extensions.get("flaskfleet.metrics"), service=service)
