"""OpenTelemetry traces: W3C trace context in and out of every service, OTLP export when set.

The process has one tracer provider (one service runs per process). Spans are always created, so
logs carry trace and span ids and ``traceparent`` travels through every hop even when nothing is
exported; an OTLP/HTTP exporter is attached only when an endpoint is configured.
Flask (incoming) and requests (outgoing) are instrumented.
"""

from __future__ import annotations

import threading

from flask import Flask
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_lock = threading.Lock()
_provider: TracerProvider | None = None

# Probes and scrapes would drown the traces that matter.
EXCLUDED_URLS = "/health/live,/health/ready,/metrics,/v1/health/service,/v1/status/leader"


def traces_endpoint(config) -> str | None:
    if config.get("OTLP_TRACES_ENDPOINT"):
        return config["OTLP_TRACES_ENDPOINT"]
    if config.get("OTLP_ENDPOINT"):
        return config["OTLP_ENDPOINT"] + "/v1/traces"
    return None


def provider_for(service: str, endpoint: str | None) -> TracerProvider:
    """The process's tracer provider, created (and made global) on first use."""
    global _provider
    with _lock:
        if _provider is None:
            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            if endpoint:
                provider.add_span_processor(
                    BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5),
                                       schedule_delay_millis=500))
            trace.set_tracer_provider(provider)
            _provider = provider
            instrumentor = RequestsInstrumentor()
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
        return _provider


def install(app: Flask, service: str) -> None:
    provider = provider_for(service, traces_endpoint(app.config))
    app.extensions["flaskfleet.tracer_provider"] = provider
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider,
                                       excluded_urls=EXCLUDED_URLS)
