"""Development tools: an in-process OTLP/HTTP trace receiver (tests, benchmark, laptop).

    python -m flaskfleet_services.devtools otlp-sink --port 4318   # prints one line per span

Decodes ``ExportTraceServiceRequest`` protobuf bodies posted to /v1/traces and keeps the spans.
"""

from __future__ import annotations

import argparse
import gzip
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: dict


def _value(any_value):
    field = any_value.WhichOneof("value")
    return getattr(any_value, field) if field else None


class OtlpReceiver:
    """An OTLP/HTTP (protobuf) trace receiver on 127.0.0.1; ``spans`` is what it got."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, keep: bool = True,
                 echo: bool = False):
        self.spans: list[Span] = []
        self.requests = 0
        self.keep = keep
        self.echo = echo
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                message = ExportTraceServiceRequest()
                message.ParseFromString(body)
                receiver._add(message)
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _add(self, message) -> None:
        found = []
        for resource_spans in message.resource_spans:
            attrs = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            service = attrs.get("service.name", "")
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    found.append(Span(
                        service=service, name=span.name, kind=KINDS.get(span.kind, "?"),
                        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        attributes={a.key: _value(a.value) for a in span.attributes}))
        with self._lock:
            self.requests += 1
            if self.keep:
                self.spans.extend(found)
        if self.echo:
            for span in found:
                print(f"{span.trace_id} {span.service:14} {span.kind:7} {span.name}", flush=True)

    def wait_for(self, predicate, timeout: float = 15.0) -> list[Span]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                spans = list(self.spans)
            if predicate(spans):
                return spans
            time.sleep(0.1)
        with self._lock:
            return list(self.spans)

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="flaskfleet_services.devtools")
    sub = parser.add_subparsers(dest="command", required=True)
    sink = sub.add_parser("otlp-sink", help="receive OTLP/HTTP traces on 127.0.0.1")
    sink.add_argument("--port", type=int, default=4318)
    sink.add_argument("--seconds", type=float, default=3600, help="stop after this long")
    sink.add_argument("--quiet", action="store_true", help="count spans, do not print them")
    args = parser.parse_args(argv)
    with OtlpReceiver(port=args.port, keep=False, echo=not args.quiet) as receiver:
        print(f"otlp-sink: {receiver.endpoint}/v1/traces", flush=True)
        time.sleep(args.seconds)


if __name__ == "__main__":
    main()
