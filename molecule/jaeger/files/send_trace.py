#!/usr/bin/env python3
"""Send one trace of two spans from two services over real OTLP/HTTP protobuf.

Built with the OpenTelemetry SDK and its OTLP/HTTP exporter (the ones the services use):
a server span of service ``<prefix>-gateway`` and its child, a server span of
``<prefix>-orders`` (same trace id, parent = the gateway span). Prints the trace id as
32 hex digits on stdout; exits non-zero when an export fails.

Usage: send_trace.py <OTLP traces URL, e.g. http://host:4318/v1/traces> [<prefix>]
"""

from __future__ import annotations

import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult


class CheckedExporter(OTLPSpanExporter):
    """Remembers whether every export succeeded."""

    failed = False

    def export(self, spans):
        result = super().export(spans)
        if result is not SpanExportResult.SUCCESS:
            CheckedExporter.failed = True
        return result


def provider(service: str, endpoint: str) -> TracerProvider:
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": service}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(CheckedExporter(endpoint=endpoint,
                                                                           timeout=5)))
    return tracer_provider


def main(argv: list[str]) -> int:
    endpoint = argv[0]
    prefix = argv[1] if len(argv) > 1 else "molecule"
    gateway = provider(f"{prefix}-gateway", endpoint)
    orders = provider(f"{prefix}-orders", endpoint)
    gateway_tracer = gateway.get_tracer("send_trace")
    orders_tracer = orders.get_tracer("send_trace")
    with (
        gateway_tracer.start_as_current_span("GET /api/orders",
                                             kind=trace.SpanKind.SERVER) as parent,
        orders_tracer.start_as_current_span("GET /orders", kind=trace.SpanKind.SERVER,
                                            attributes={"http.route": "/orders"}),
    ):
        pass
    gateway.shutdown()
    orders.shutdown()
    if CheckedExporter.failed:
        print("an OTLP export failed", file=sys.stderr)
        return 1
    print(f"{parent.get_span_context().trace_id:032x}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
