"""Prometheus metrics: per-route request count, latency and errors, requests in flight.

Under gunicorn (several worker processes) PROMETHEUS_MULTIPROC_DIR is set before the workers
import prometheus_client, and /metrics aggregates every worker's values.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self, service: str):
        self.service = service
        # One registry per app: tests create many apps in one process.
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("service", "method", "route", "status")
        self.requests = Counter("http_requests_total", "HTTP requests handled.",
                                labels, registry=self.registry)
        self.errors = Counter("http_request_errors_total",
                              "HTTP requests answered with a 4xx or 5xx status.",
                              (*labels, "class"), registry=self.registry)
        self.latency = Histogram("http_request_duration_seconds",
                                 "Time from request start to response, seconds.",
                                 ("service", "method", "route"), buckets=BUCKETS,
                                 registry=self.registry)
        self.in_flight = Gauge("http_requests_in_flight", "HTTP requests being handled.",
                               ("service",), registry=self.registry,
                               multiprocess_mode="livesum")
        self.upstream = Counter("upstream_requests_total",
                                "Calls to other services, by outcome.",
                                ("service", "upstream", "method", "outcome"),
                                registry=self.registry)
        self.upstream_latency = Histogram("upstream_request_duration_seconds",
                                          "Duration of one call to another service's instance.",
                                          ("service", "upstream"), buckets=BUCKETS,
                                          registry=self.registry)

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def install(app: Flask, service: str) -> Metrics:
    metrics = Metrics(service)
    app.extensions["flaskfleet.metrics"] = metrics
    in_flight = metrics.in_flight.labels(service)

    @app.before_request
    def _start():
        g.metrics_start = time.perf_counter()
        g.metrics_in_flight = True
        in_flight.inc()

    @app.after_request
    def _record(response):
        start = g.get("metrics_start")
        if start is None:
            return response
        route = request.url_rule.rule if request.url_rule else "unmatched"
        status = response.status_code
        metrics.requests.labels(service, request.method, route, str(status)).inc()
        if status >= 400:
            metrics.errors.labels(service, request.method, route, str(status),
                                  f"{status // 100}xx").inc()
        metrics.latency.labels(service, request.method, route).observe(
            time.perf_counter() - start)
        return response

    @app.teardown_request
    def _done(_exc):
        if g.pop("metrics_in_flight", False):
            in_flight.dec()

    @app.get("/metrics")
    def prometheus_metrics():
        return Response(metrics.render(), mimetype=CONTENT_TYPE_LATEST)

    return metrics
