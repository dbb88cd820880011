#!/usr/bin/python3
"""Jaeger v2 STAND-IN (tests only): packed as ``jaeger`` in jaeger-<v>-linux-amd64.tar.gz.

The real Jaeger v2 cannot be obtained on the test machines. This program takes its place in
the Molecule scenarios and the platform test. It is NOT Jaeger: it keeps spans in memory, whatever
storage backend the configuration names, and speaks only what the roles and tests use.

Command line (as upstream, an OpenTelemetry Collector distribution):
  jaeger --config <file>            run
  jaeger validate --config <file>   check the configuration and exit (used by the role's
                                    ``validate:``)
  jaeger --version | jaeger version

Configuration: the OpenTelemetry Collector YAML format Jaeger v2 reads. Accepted keys (anything
else is refused with exit code 1, so a typo in the role's template fails as upstream does) come
from these upstream pages and files:
  https://www.jaegertracing.io/docs/2.20/deployment/configuration/
  https://github.com/jaegertracing/jaeger/blob/main/cmd/jaeger/internal/all-in-one.yaml
  https://github.com/jaegertracing/jaeger/blob/main/cmd/jaeger/config-badger.yaml
  https://github.com/jaegertracing/jaeger/blob/main/cmd/jaeger/config-elasticsearch.yaml
  cmd/jaeger/internal/extension/jaegerquery/internal/flags.go (QueryOptions),
  cmd/jaeger/internal/extension/remotesampling/config.schema.yaml,
  internal/storage/elasticsearch/config/config.go (Configuration),
  opentelemetry-collector-contrib extension/healthcheckv2extension (README),
  opentelemetry-collector config/configtls (README: server ``tls`` with ``cert_file``,
  ``key_file``, ``client_ca_file``).
As upstream, every component a pipeline or ``service.extensions`` names must be defined, and the
storage names used by jaeger_query and jaeger_storage_exporter must be jaeger_storage backends.

Served (upstream ports by default, or the endpoints the configuration sets):
  OTLP/HTTP   POST /v1/traces (application/x-protobuf or application/json, gzip allowed)  :4318
  OTLP/gRPC   the port is bound, but gRPC is NOT spoken (connections are closed)       :4317
  query API   GET /api/services, /api/services/<s>/operations, /api/traces?service=..,
              /api/traces/<traceID> (Jaeger UI JSON: data[].spans[], processes)         :16686
  health      GET /status (healthcheckv2, use_v2) and GET / (legacy shape)             :13133
  sampling    GET /api/sampling?service=.. from the remote_sampling file strategies      :5778
An HTTP server whose ``tls`` block names ``cert_file`` and ``key_file`` serves HTTPS (TLS 1.2
or later, configtls' default) with them; with ``client_ca_file`` it requires and verifies a client
certificate signed by that CA, as configtls' RequireAndVerifyClientCert: a handshake without one,
or with one of another CA, is refused before any HTTP. The files are read at start (a missing
or unreadable file stops it, as upstream); ``validate`` does not read them. The query
extension's gRPC server is not started (its settings are only checked).
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import sys
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

VERSION = "2.20.0"
BANNER = f"jaeger {VERSION} (flaskfleet test STAND-IN, not the real Jaeger)"

# -- configuration schema ------------------------------------------------------------------
# A dict maps accepted keys to their sub-schema; ANY accepts any value (a scalar, list or map
# upstream does not constrain further here); NAMES maps user-chosen names to a sub-schema.
ANY = object()


class Names:
    def __init__(self, schema):
        self.schema = schema


SERVER_TLS = {"cert_file": ANY, "key_file": ANY, "ca_file": ANY, "client_ca_file": ANY}
HTTP_SERVER = {"endpoint": ANY, "tls": SERVER_TLS,
               "cors": {"allowed_origins": ANY, "allowed_headers": ANY}}
GRPC_SERVER = {"endpoint": ANY, "transport": ANY, "tls": SERVER_TLS}
CLIENT_TLS = {"ca_file": ANY, "cert_file": ANY, "key_file": ANY, "insecure": ANY,
              "insecure_skip_verify": ANY, "server_name_override": ANY}
INDEX_OPTIONS = {"shards": ANY, "replicas": ANY, "priority": ANY, "date_layout": ANY,
                 "rollover_frequency": ANY}
ELASTICSEARCH = {
    "server_urls": ANY, "remote_read_clusters": ANY,
    "auth": {"basic": {"username": ANY, "password": ANY, "password_file": ANY,
                       "reload_interval": ANY},
             "bearer_token": {"file_path": ANY, "from_context": ANY, "reload_interval": ANY},
             "api_key": {"file_path": ANY, "from_context": ANY, "reload_interval": ANY}},
    "tls": CLIENT_TLS, "sniffing": {"enabled": ANY}, "query_timeout": ANY,
    "http_compression": ANY, "custom_headers": ANY,
    "bulk_processing": {"max_bytes": ANY, "flush_interval": ANY, "workers": ANY},
    "write_mode": ANY, "version": ANY, "log_level": ANY, "create_mappings": ANY,
    "indices": {"index_prefix": ANY, "spans": INDEX_OPTIONS, "services": INDEX_OPTIONS,
                "dependencies": INDEX_OPTIONS, "sampling": INDEX_OPTIONS},
    "max_doc_count": ANY, "max_span_age": ANY, "max_trace_duration": ANY,
    "service_cache_ttl": ANY, "adaptive_sampling_lookback": ANY,
    "tags_as_fields": {"all": ANY, "dot_replacement": ANY, "config_file": ANY, "include": ANY},
}
BACKEND = {
    "memory": {"max_traces": ANY},
    "badger": {"directories": {"keys": ANY, "values": ANY}, "directory_key": ANY,
               "directory_value": ANY, "ephemeral": ANY, "ttl": {"spans": ANY},
               "maintenance_interval": ANY, "metrics_update_interval": ANY,
               "consistent_read": ANY},
    "elasticsearch": ELASTICSEARCH,
}
SCHEMA = {
    "service": {
        "extensions": ANY,
        "pipelines": Names({"receivers": ANY, "processors": ANY, "exporters": ANY}),
        "telemetry": {"resource": ANY, "logs": {"level": ANY, "encoding": ANY},
                      "metrics": {"level": ANY, "readers": ANY}},
    },
    "extensions": {
        "jaeger_storage": {"backends": Names(BACKEND)},
        "jaeger_query": {
            "storage": {"traces": ANY, "traces_archive": ANY, "metrics": ANY},
            "base_path": ANY, "ui": {"config_file": ANY, "assets_path": ANY, "log_access": ANY},
            "bearer_token_propagation": ANY, "max_clock_skew_adjust": ANY,
            "max_trace_size": ANY, "enable_tracing": ANY,
            "http": HTTP_SERVER, "grpc": GRPC_SERVER,
        },
        "healthcheckv2": {
            "use_v2": ANY,
            "component_health": {"include_permanent_errors": ANY,
                                 "include_recoverable_errors": ANY, "recovery_duration": ANY},
            "http": {**HTTP_SERVER, "status": {"enabled": ANY, "path": ANY},
                     "config": {"enabled": ANY, "path": ANY}},
            "grpc": GRPC_SERVER,
        },
        "remote_sampling": {
            "file": {"path": ANY, "default_sampling_probability": ANY, "reload_interval": ANY},
            "adaptive": ANY, "http": HTTP_SERVER, "grpc": GRPC_SERVER,
        },
    },
    "receivers": {"otlp": {"protocols": {"grpc": GRPC_SERVER, "http": HTTP_SERVER}}},
    "processors": {"batch": {"timeout": ANY, "send_batch_size": ANY,
                             "send_batch_max_size": ANY}},
    "exporters": {"jaeger_storage_exporter": {"trace_storage": ANY}},
}


class ConfigError(Exception):
    pass


def check_keys(value, schema, path: str) -> None:
    if schema is ANY:
        return
    if value is None:  # "http:" with nothing under it: the component's defaults
        return
    if not isinstance(value, dict):
        raise ConfigError(f"'{path}': expected a mapping, got {type(value).__name__}")
    if isinstance(schema, Names):
        for name, item in value.items():
            check_keys(item, schema.schema, f"{path}::{name}")
        return
    for key, item in value.items():
        base = str(key).split("/", 1)[0]  # collector component ids may be type/name
        if base not in schema:
            where = path or "top level"
            raise ConfigError(
                f"'{where}' has invalid keys: {key} (accepted: {', '.join(sorted(schema))})")
        check_keys(item, schema[base], f"{path}::{key}" if path else str(key))


def load_config(path: str) -> dict:
    import yaml  # vendored

    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(f"cannot read the configuration: {error}") from error
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"cannot parse {path}: {error}") from error
    check_keys(config, SCHEMA, "")
    service = config.get("service") or {}
    extensions = config.get("extensions") or {}
    for ext in service.get("extensions") or []:
        if ext not in extensions:
            raise ConfigError(f"service::extensions: extension '{ext}' is not configured")
    pipelines = (service.get("pipelines") or {})
    if not pipelines:
        raise ConfigError("service must have at least one pipeline")
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for comp in (pipeline or {}).get(kind) or []:
                if comp not in (config.get(kind) or {}):
                    raise ConfigError(
                        f"service::pipelines::{name}: references {kind[:-1]} '{comp}' "
                        f"which is not configured")
    backends = ((extensions.get("jaeger_storage") or {}).get("backends") or {})
    query = extensions.get("jaeger_query") or {}
    for key in ("traces", "traces_archive"):
        name = (query.get("storage") or {}).get(key)
        if name and name not in backends:
            raise ConfigError(f"jaeger_query: storage.{key} '{name}' is not a jaeger_storage "
                              f"backend")
    exporter = (config.get("exporters") or {}).get("jaeger_storage_exporter") or {}
    if exporter.get("trace_storage") and exporter["trace_storage"] not in backends:
        raise ConfigError(f"jaeger_storage_exporter: trace_storage "
                          f"'{exporter['trace_storage']}' is not a jaeger_storage backend")
    for name, backend in backends.items():
        if not backend or len(backend) != 1:
            raise ConfigError(f"jaeger_storage: backend '{name}' must have exactly one type")
        es = backend.get("elasticsearch")
        if es is not None:
            if not es.get("server_urls"):
                raise ConfigError(f"jaeger_storage: backend '{name}': server_urls is required")
            pwfile = ((es.get("auth") or {}).get("basic") or {}).get("password_file")
            if pwfile and not Path(pwfile).is_file():
                raise ConfigError(f"backend '{name}': password_file {pwfile} does not exist")
            ca_file = (es.get("tls") or {}).get("ca_file")
            if ca_file and not Path(ca_file).is_file():
                raise ConfigError(f"backend '{name}': tls.ca_file {ca_file} does not exist")
    sampling = (extensions.get("remote_sampling") or {}).get("file") or {}
    if sampling.get("path"):
        try:
            json.loads(Path(sampling["path"]).read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"remote_sampling: cannot load strategies file "
                              f"{sampling['path']}: {error}") from error
    return config


# -- storage -------------------------------------------------------------------------------
class Store:
    def __init__(self, max_traces: int) -> None:
        self.max_traces = max_traces
        self.traces: OrderedDict[int, list[dict]] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, spans: list[dict]) -> None:
        with self.lock:
            for span in spans:
                self.traces.setdefault(span["_trace"], []).append(span)
                self.traces.move_to_end(span["_trace"])
            while len(self.traces) > self.max_traces:
                self.traces.popitem(last=False)

    def services(self) -> list[str]:
        with self.lock:
            return sorted({s["_service"] for spans in self.traces.values() for s in spans})

    def operations(self, service: str) -> list[str]:
        with self.lock:
            return sorted({s["operationName"] for spans in self.traces.values() for s in spans
                           if s["_service"] == service})

    def find(self, service: str, operation: str | None, limit: int) -> list[list[dict]]:
        with self.lock:
            found = [list(spans) for spans in reversed(self.traces.values())
                     if any(s["_service"] == service and
                            (operation is None or s["operationName"] == operation)
                            for s in spans)]
        return found[:limit]

    def get(self, trace_id: int) -> list[dict] | None:
        with self.lock:
            spans = self.traces.get(trace_id)
            return list(spans) if spans else None


def trace_id_str(value: int) -> str:
    # As Jaeger's model.TraceID.String(): 16 hex digits when the high half is zero.
    return f"{value:016x}" if value >> 64 == 0 else f"{value:032x}"


def any_value(value):
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return "string", value.string_value
    if kind == "bool_value":
        return "bool", value.bool_value
    if kind == "int_value":
        return "int64", value.int_value
    if kind == "double_value":
        return "float64", value.double_value
    if kind == "bytes_value":
        return "binary", value.bytes_value.hex()
    return "string", str(value)


def tags(attributes) -> list[dict]:
    out = []
    for attr in attributes:
        kind, val = any_value(attr.value)
        out.append({"key": attr.key, "type": kind, "value": val})
    return out


SPAN_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def convert(request) -> list[dict]:
    """OTLP ExportTraceServiceRequest -> Jaeger JSON spans (with private fields)."""
    spans = []
    for resource_spans in request.resource_spans:
        resource_tags = tags(resource_spans.resource.attributes)
        service = next((t["value"] for t in resource_tags if t["key"] == "service.name"),
                       "unknown_service")
        process_tags = [t for t in resource_tags if t["key"] != "service.name"]
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                trace = int.from_bytes(span.trace_id, "big")
                item_tags = tags(span.attributes)
                if scope_spans.scope.name:
                    item_tags.append({"key": "otel.scope.name", "type": "string",
                                      "value": scope_spans.scope.name})
                if span.kind in SPAN_KINDS:
                    item_tags.append({"key": "span.kind", "type": "string",
                                      "value": SPAN_KINDS[span.kind]})
                if span.status.code == 2:
                    item_tags.append({"key": "error", "type": "bool", "value": True})
                references = []
                if span.parent_span_id:
                    references.append({"refType": "CHILD_OF", "traceID": trace_id_str(trace),
                                       "spanID": span.parent_span_id.hex()})
                spans.append({
                    "traceID": trace_id_str(trace),
                    "spanID": span.span_id.hex(),
                    "operationName": span.name,
                    "references": references,
                    "startTime": span.start_time_unix_nano // 1000,
                    "duration": max(0, span.end_time_unix_nano - span.start_time_unix_nano)
                    // 1000,
                    "tags": item_tags,
                    "logs": [{"timestamp": e.time_unix_nano // 1000,
                              "fields": [{"key": "event", "type": "string", "value": e.name},
                                         *tags(e.attributes)]} for e in span.events],
                    "flags": 1,
                    "_trace": trace,
                    "_service": service,
                    "_process": (service, json.dumps(process_tags, sort_keys=True)),
                })
    return spans


def render_trace(spans: list[dict]) -> dict:
    processes: dict[tuple, str] = {}
    out_spans = []
    for span in sorted(spans, key=lambda s: s["startTime"]):
        pid = processes.setdefault(span["_process"], f"p{len(processes) + 1}")
        out_spans.append({**{k: v for k, v in span.items() if not k.startswith("_")},
                          "processID": pid, "warnings": None})
    return {
        "traceID": spans[0]["traceID"],
        "spans": out_spans,
        "processes": {pid: {"serviceName": key[0], "tags": json.loads(key[1])}
                      for key, pid in processes.items()},
        "warnings": None,
    }


# -- HTTP servers --------------------------------------------------------------------------
def split_endpoint(endpoint: str | None, default_port: int) -> tuple[str, int]:
    if not endpoint:
        return "127.0.0.1", default_port
    host, _, port = str(endpoint).rpartition(":")
    host = host.strip("[]")
    if not host:
        host = "0.0.0.0"  # noqa: S104  ":port" means every address, as upstream
    elif host == "localhost":
        host = "127.0.0.1"
    return host, int(port)


class Handler(BaseHTTPRequestHandler):
    server_version = "jaeger-standin"
    def log_message(self, fmt, *args):
        sys.stderr.write("standin-access: " + (fmt % args) + "\n")

    def send_json(self, status: int, body, content_type="application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.server.app.get(self)

    def do_POST(self):
        self.server.app.post(self)


class App:
    def get(self, req: Handler) -> None:
        req.send_json(404, {"error": "not found"})

    def post(self, req: Handler) -> None:
        req.send_json(405, {"error": "method not allowed"})


class OtlpHttp(App):
    def __init__(self, store: Store) -> None:
        self.store = store

    def post(self, req: Handler) -> None:
        from google.protobuf import json_format
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb

        if urlsplit(req.path).path != "/v1/traces":
            req.send_json(404, {"error": "only /v1/traces is served by this stand-in"})
            return
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        if req.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        message = pb.ExportTraceServiceRequest()
        try:
            if ctype == "application/x-protobuf":
                message.ParseFromString(body)
            elif ctype == "application/json":
                json_format.Parse(body, message)
            else:
                req.send_json(415, {"error": f"unsupported content type {ctype}"})
                return
        except Exception as error:  # noqa: BLE001  any decoding failure is the client's
            req.send_json(400, {"error": f"cannot decode OTLP request: {error}"})
            return
        spans = convert(message)
        self.store.add(spans)
        log(f"received {len(spans)} spans")
        reply = pb.ExportTraceServiceResponse()
        if ctype == "application/json":
            req.send_json(200, json_format.MessageToJson(reply).encode())
        else:
            req.send_json(200, reply.SerializeToString(), "application/x-protobuf")


class Query(App):
    def __init__(self, store: Store, base_path: str) -> None:
        self.store = store
        self.base = base_path.rstrip("/")

    @staticmethod
    def envelope(data, errors=None):
        return {"data": data, "total": len(data) if isinstance(data, list) else 0,
                "limit": 0, "offset": 0, "errors": errors}

    def get(self, req: Handler) -> None:
        url = urlsplit(req.path)
        path = url.path
        if self.base and path.startswith(self.base):
            path = path[len(self.base):] or "/"
        query = parse_qs(url.query)
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if path == "/":
            req.send_json(200, b"<html><body>Jaeger query stand-in (no UI)</body></html>",
                          "text/html")
        elif parts == ["api", "services"]:
            req.send_json(200, self.envelope(self.store.services()))
        elif len(parts) == 4 and parts[:2] == ["api", "services"] and parts[3] == "operations":
            req.send_json(200, self.envelope(self.store.operations(parts[2])))
        elif parts == ["api", "traces"]:
            service = (query.get("service") or [""])[0]
            if not service:
                req.send_json(400, self.envelope(
                    None, [{"code": 400, "msg": "parameter 'service' is required"}]))
                return
            limit = int((query.get("limit") or ["20"])[0] or 20)
            operation = (query.get("operation") or [None])[0]
            traces = [render_trace(t) for t in self.store.find(service, operation, limit)]
            req.send_json(200, self.envelope(traces))
        elif len(parts) == 3 and parts[:2] == ["api", "traces"]:
            try:
                trace_id = int(parts[2], 16)
            except ValueError:
                req.send_json(400, self.envelope(
                    None, [{"code": 400, "msg": f"malformed trace id {parts[2]}"}]))
                return
            spans = self.store.get(trace_id)
            if spans is None:
                req.send_json(404, self.envelope(None, [{"code": 404,
                                                         "msg": "trace not found"}]))
            else:
                req.send_json(200, self.envelope([render_trace(spans)]))
        else:
            req.send_json(404, {"error": "not served by the stand-in"})


class Health(App):
    def __init__(self, started: float, status_path: str) -> None:
        self.started = started
        self.status_path = status_path

    def get(self, req: Handler) -> None:
        path = urlsplit(req.path).path
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started))
        if path == self.status_path:
            req.send_json(200, {"start_time": since, "healthy": True, "status": "StatusOK",
                                "error": None, "components": {}})
        elif path == "/":
            req.send_json(200, {"status": "Server available", "upSince": since,
                                "uptime": f"{time.time() - self.started:.0f}s"})
        else:
            req.send_json(404, {"error": "not found"})


class Sampling(App):
    def __init__(self, strategies: dict, default_probability: float) -> None:
        self.strategies = strategies
        self.default_probability = default_probability

    def get(self, req: Handler) -> None:
        url = urlsplit(req.path)
        if url.path not in ("/", "/api/sampling"):
            req.send_json(404, {"error": "not found"})
            return
        service = (parse_qs(url.query).get("service") or [""])[0]
        if not service:
            req.send_json(400, {"error": "'service' parameter must be provided"})
            return
        default = self.strategies.get("default_strategy") or {
            "type": "probabilistic", "param": self.default_probability}
        strategy = next((s for s in self.strategies.get("service_strategies") or []
                         if s.get("service") == service), default)
        if strategy.get("type") == "ratelimiting":
            body = {"strategyType": "RATE_LIMITING",
                    "rateLimitingSampling": {"maxTracesPerSecond": strategy.get("param", 0)}}
        else:
            body = {"strategyType": "PROBABILISTIC",
                    "probabilisticSampling": {"samplingRate": strategy.get("param", 0)}}
        req.send_json(200, body)


class TlsHTTPServer(ThreadingHTTPServer):
    """HTTPS: the TLS handshake runs in the connection's own thread, so a client that never
    finishes one cannot stall the others."""

    def __init__(self, address, handler, context: ssl.SSLContext) -> None:
        super().__init__(address, handler)
        self.context = context

    def finish_request(self, request, client_address) -> None:
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            log(f"TLS handshake error from {client_address[0]}: {error}")
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


def server_tls(name: str, tls: dict | None) -> ssl.SSLContext | None:
    """configtls.ServerConfig: the certificate and key; client_ca_file requires client certs."""
    if not tls:
        return None
    if not tls.get("cert_file") or not tls.get("key_file"):
        raise ConfigError(f"{name}: tls needs cert_file and key_file for a server")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(tls["cert_file"], tls["key_file"])
        if tls.get("client_ca_file"):
            context.load_verify_locations(cafile=tls["client_ca_file"])
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"{name}: failed to load TLS config: {error}") from error
    return context


def serve(name: str, settings: dict | None, default_port: int, app: App) -> None:
    settings = settings or {}
    host, port = split_endpoint(settings.get("endpoint"), default_port)
    context = server_tls(name, settings.get("tls"))
    if context is None:
        server = ThreadingHTTPServer((host, port), Handler)
    else:
        server = TlsHTTPServer((host, port), Handler, context)
    server.daemon_threads = True
    server.app = app
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    client_auth = context is not None and context.verify_mode == ssl.CERT_REQUIRED
    scheme = "https" if context else "http"
    log(f"{name} listening on {host}:{port} ({scheme}"
        f"{', client certificate required' if client_auth else ''})")


def bind_only(name: str, endpoint: str | None, default_port: int) -> None:
    host, port = split_endpoint(endpoint, default_port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen()

    def loop():
        while True:
            conn, _ = sock.accept()
            conn.close()

    threading.Thread(target=loop, name=name, daemon=True).start()
    log(f"{name} bound on {host}:{port} (stand-in: gRPC is not spoken, connections closed)")


def log(message: str) -> None:
    print(f"jaeger-standin: {message}", flush=True)


def run(config: dict) -> None:
    log(f"starting {BANNER}")
    extensions = config.get("extensions") or {}
    enabled = (config.get("service") or {}).get("extensions") or []
    backends = ((extensions.get("jaeger_storage") or {}).get("backends") or {})
    exporter = (config.get("exporters") or {}).get("jaeger_storage_exporter") or {}
    backend = backends.get(exporter.get("trace_storage"), {}) or {}
    kind = next(iter(backend), "memory")
    max_traces = int(((backend.get("memory") or {}).get("max_traces")) or 100000)
    log(f"storage backend '{exporter.get('trace_storage')}' of type {kind}: "
        f"kept in memory by the stand-in (max {max_traces} traces)")
    store = Store(max_traces)
    protocols = (((config.get("receivers") or {}).get("otlp") or {}).get("protocols") or {})
    if "http" in protocols:
        serve("otlp-http", protocols["http"], 4318, OtlpHttp(store))
    if "grpc" in protocols:
        bind_only("otlp-grpc", (protocols["grpc"] or {}).get("endpoint"), 4317)
    if "jaeger_query" in enabled:
        query = extensions["jaeger_query"] or {}
        serve("query-http", query.get("http"), 16686,
              Query(store, query.get("base_path") or "/"))
    if "healthcheckv2" in enabled:
        health = extensions["healthcheckv2"] or {}
        http = health.get("http") or {}
        status_path = (http.get("status") or {}).get("path") or "/status"
        serve("healthcheckv2", http, 13133, Health(time.time(), status_path))
    if "remote_sampling" in enabled:
        sampling = extensions["remote_sampling"] or {}
        file_cfg = sampling.get("file") or {}
        strategies = json.loads(Path(file_cfg["path"]).read_text()) if file_cfg.get("path") \
            else {}
        serve("remote-sampling", sampling.get("http"), 5778,
              Sampling(strategies, float(file_cfg.get("default_sampling_probability") or 1.0)))
    log("Everything is ready. Begin running and processing data.")
    threading.Event().wait()


def parse_args(argv: list[str]) -> tuple[str, list[str]]:
    command = "run"
    configs: list[str] = []
    args = list(argv)
    if args and args[0] in ("validate", "version"):
        command = args.pop(0)
    while args:
        arg = args.pop(0)
        if arg in ("--version", "-v"):
            command = "version"
        elif arg == "--config" and args:
            configs.append(args.pop(0))
        elif arg.startswith("--config="):
            configs.append(arg.split("=", 1)[1])
        else:
            raise ConfigError(f"unknown flag: {arg} (the stand-in accepts --config <file>, "
                              f"validate --config <file>, --version)")
    return command, configs


def main(argv: list[str]) -> int:
    try:
        command, configs = parse_args(argv)
        if command == "version":
            print(BANNER)
            return 0
        if len(configs) != 1:
            raise ConfigError("exactly one --config <file> is required by the stand-in")
        config = load_config(configs[0].removeprefix("file:"))
        if command == "validate":
            print(f"jaeger-standin: {configs[0]} is valid")
            return 0
        run(config)
        return 0
    except ConfigError as error:
        print(f"Error: invalid configuration: {error} [{BANNER}]", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"Error: cannot start: {error} [{BANNER}]", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
