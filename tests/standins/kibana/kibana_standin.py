#!/usr/bin/env python3
"""Kibana STAND-IN (tests only; not Kibana).

Packed by tests/mirror/build.py as ``bin/kibana`` of ``kibana-<v>-linux-x86_64.tar.gz`` so the
kibana role's Molecule scenario can run on machines that cannot download the real release.

Command line (upstream: ``kibana --help``; https://www.elastic.co/docs/deploy-manage/deploy/self-managed/install-kibana-from-archive-on-linux-macos):
  ``bin/kibana [-c|--config FILE]... [--allow-root] [--version] [-h|--help]``; other flags exit 64.
  It refuses to run as root without ``--allow-root``, as upstream does.

kibana.yml (upstream: https://www.elastic.co/docs/reference/kibana/configuration-reference):
  nested or dotted keys; every key must be in ``KNOWN_SETTINGS`` (the general, server.ssl,
  elasticsearch.*, path/pid, logging.root, status and security/encryption settings the role
  writes); anything else fails with upstream's "Unknown configuration key(s)". Checked like
  upstream: encryption keys at least 32 characters, ``elasticsearch.username: elastic``
  forbidden, ``elasticsearch.hosts`` URLs, TLS files readable.

HTTP (``server.host``:``server.port``, HTTPS when ``server.ssl.enabled``), shapes from
https://www.elastic.co/docs/api/doc/kibana/ :
  * ``GET /api/status``: anonymous requests get the minimal ``{"status": {"overall":
    {"level"}}}``, authenticated ones the full status (version, core.elasticsearch); 503 while
    Elasticsearch cannot be reached with the configured ``elasticsearch.username``/password
    over TLS with ``elasticsearch.ssl.certificateAuthorities`` (checked every 2 s, as Kibana's
    own Elasticsearch service status).
  * ``GET /api/data_views``, ``POST /api/data_views/data_view``,
    ``GET|POST|DELETE /api/data_views/data_view/<id>``.
  * Every other ``/api/...`` route and every non-GET request: basic credentials are checked
    against Elasticsearch's ``/_security/_authenticate`` (as Kibana's basic provider does);
    anonymous or wrong → 401; writes need the ``kbn-xsrf`` header (400 otherwise).
Data views persist in ``path.data`` (upstream keeps saved objects in Elasticsearch).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HOME = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HOME / "node" / "lib" / "python"))

VERSION = "9.5.7"
BANNER = (
    f"kibana STAND-IN {VERSION} (tests/standins/kibana; not Kibana, "
    "a test double for offline Molecule scenarios)"
)
EX_USAGE = 64
KNOWN_SETTINGS = {
    "server.host",
    "server.port",
    "server.name",
    "server.publicBaseUrl",
    "server.basePath",
    "server.rewriteBasePath",
    "server.maxPayload",
    "server.ssl.enabled",
    "server.ssl.certificate",
    "server.ssl.key",
    "server.ssl.certificateAuthorities",
    "server.ssl.supportedProtocols",
    "elasticsearch.hosts",
    "elasticsearch.username",
    "elasticsearch.password",
    "elasticsearch.serviceAccountToken",
    "elasticsearch.requestTimeout",
    "elasticsearch.pingTimeout",
    "elasticsearch.ssl.certificateAuthorities",
    "elasticsearch.ssl.verificationMode",
    "elasticsearch.ssl.certificate",
    "elasticsearch.ssl.key",
    "path.data",
    "pid.file",
    "logging.root.level",
    "status.allowAnonymous",
    "xpack.security.encryptionKey",
    "xpack.encryptedSavedObjects.encryptionKey",
    "xpack.reporting.encryptionKey",
    "xpack.reporting.roles.enabled",
    "xpack.security.session.idleTimeout",
    "xpack.security.session.lifespan",
    "xpack.fleet.enabled",
    "telemetry.optIn",
    "telemetry.allowChangingOptInStatus",
    "newsfeed.enabled",
    "i18n.locale",
}
ENCRYPTION_KEYS = (
    "xpack.security.encryptionKey",
    "xpack.encryptedSavedObjects.encryptionKey",
    "xpack.reporting.encryptionKey",
)
DATA_VIEW_KEYS = {
    "title",
    "name",
    "id",
    "timeFieldName",
    "sourceFilters",
    "fieldFormats",
    "fieldAttrs",
    "runtimeFieldMap",
    "allowNoIndex",
    "namespaces",
    "version",
    "fields",
    "type",
    "typeMeta",
    "allowHidden",
}


class ConfigError(Exception):
    """A configuration the real Kibana would refuse to start with."""


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(f"[{stamp}][INFO ][standin] {message}", flush=True)


def flatten(data: object, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict) and value:
                out.update(flatten(value, name))
            else:
                out[name] = value
    return out


def as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def load_config(paths: list[Path]) -> dict[str, object]:
    import yaml  # vendored under node/lib/python

    settings: dict[str, object] = {}
    for path in paths:
        try:
            settings.update(flatten(yaml.safe_load(path.read_text()) or {}))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"Error: cannot read config file {path}: {exc}") from exc
    unknown = sorted(k for k in settings if k not in KNOWN_SETTINGS)
    if unknown:
        keys = ",".join(f'"{k}"' for k in unknown)
        raise ConfigError(
            f"FATAL Error: Unknown configuration key(s): {keys}. Check for spelling errors "
            "and ensure that expected plugins are installed."
        )
    for key in ENCRYPTION_KEYS:
        value = settings.get(key)
        if value is not None and len(str(value)) < 32:
            raise ConfigError(
                f"FATAL Error: [config validation of [{key}]]: value has length "
                f"[{len(str(value))}] but it must have a minimum length of [32]."
            )
    if settings.get("elasticsearch.username") == "elastic":
        raise ConfigError(
            'FATAL Error: [config validation of [elasticsearch].username]: value of "elastic" '
            "is forbidden. This is a superuser account that cannot write to system indices "
            "that Kibana needs to function. Use a service account token instead."
        )
    hosts = as_list(settings.get("elasticsearch.hosts") or ["http://localhost:9200"])
    for host in hosts:
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "FATAL Error: [config validation of [elasticsearch].hosts]: "
                f"expected URI with scheme [http|https], got [{host}]"
            )
    mode = settings.get("elasticsearch.ssl.verificationMode", "full")
    if mode not in ("full", "certificate", "none"):
        raise ConfigError(
            "FATAL Error: [config validation of [elasticsearch].ssl.verificationMode]: "
            f"types that failed validation: [{mode}]"
        )
    files = as_list(settings.get("elasticsearch.ssl.certificateAuthorities"))
    if settings.get("server.ssl.enabled") is True:
        for key in ("server.ssl.certificate", "server.ssl.key"):
            if not settings.get(key):
                raise ConfigError(
                    f"FATAL Error: [config validation of [server].ssl]: must specify [{key[11:]}]"
                )
            files.append(str(settings[key]))
    for file in files:
        if not os.access(file, os.R_OK):
            raise ConfigError(f"FATAL Error: ENOENT or EACCES: cannot read [{file}]")
    port = settings.get("server.port", 5601)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"FATAL Error: [config validation of [server].port]: bad port [{port}]")
    return settings


class Elasticsearch:
    """Kibana's client: the configured hosts, credentials and CA."""

    def __init__(self, settings: dict) -> None:
        self.hosts = as_list(settings.get("elasticsearch.hosts") or ["http://localhost:9200"])
        self.username = str(settings.get("elasticsearch.username") or "")
        self.password = str(settings.get("elasticsearch.password") or "")
        mode = settings.get("elasticsearch.ssl.verificationMode", "full")
        cafiles = as_list(settings.get("elasticsearch.ssl.certificateAuthorities"))
        self.context = ssl.create_default_context(cafile=cafiles[0] if cafiles else None)
        for extra in cafiles[1:]:
            self.context.load_verify_locations(extra)
        if mode != "full":
            self.context.check_hostname = False
        if mode == "none":
            self.context.verify_mode = ssl.CERT_NONE
        self.level, self.summary = "unavailable", "Waiting for Elasticsearch"

    def authenticate(self, username: str, password: str) -> tuple[int, dict | str]:
        """(status, body) of _security/_authenticate with these credentials."""
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        last: tuple[int, dict | str] = (503, "no Elasticsearch host answered")
        for host in self.hosts:
            request = urllib.request.Request(
                host.rstrip("/") + "/_security/_authenticate",
                headers={"Authorization": f"Basic {token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=5, context=self.context) as resp:
                    return resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                return exc.code, exc.reason
            except (OSError, ValueError) as exc:
                last = (503, f"{host}: {exc}")
        return last

    def watch(self) -> None:
        while True:
            status, body = self.authenticate(self.username, self.password)
            if status == 200:
                level, summary = "available", "Elasticsearch is available"
            elif status == 401:
                level = "unavailable"
                summary = f"Unable to authenticate user [{self.username}] against Elasticsearch"
            else:
                level, summary = "unavailable", f"Unable to connect to Elasticsearch: {body}"
            if (level, summary) != (self.level, self.summary):
                log(f"elasticsearch service status changed to [{level}]: {summary}")
            self.level, self.summary = level, summary
            time.sleep(2)


class DataViews:
    def __init__(self, data_dir: Path) -> None:
        self.file = data_dir / "standin-data-views.json"
        self.lock = threading.Lock()
        self.items: dict[str, dict] = (
            json.loads(self.file.read_text()) if self.file.exists() else {}
        )

    def save(self) -> None:
        tmp = self.file.with_name(self.file.name + ".tmp")
        tmp.write_text(json.dumps(self.items, indent=1, sort_keys=True))
        tmp.replace(self.file)


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def body(self) -> dict:
        names = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}
        return {
            "statusCode": self.status,
            "error": names.get(self.status, "Error"),
            "message": self.message,
        }


def full_view(view_id: str, spec: dict) -> dict:
    return {
        "id": view_id,
        "version": "WzEsMV0=",
        "title": spec["title"],
        "name": spec.get("name", spec["title"]),
        "timeFieldName": spec.get("timeFieldName"),
        "sourceFilters": spec.get("sourceFilters", []),
        "fields": {},
        "typeMeta": {},
        "fieldFormats": spec.get("fieldFormats", {}),
        "runtimeFieldMap": {},
        "fieldAttrs": spec.get("fieldAttrs", {}),
        "allowNoIndex": spec.get("allowNoIndex", False),
        "namespaces": ["default"],
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "kibana-standin"
    protocol_version = "HTTP/1.1"
    es: Elasticsearch
    views: DataViews
    settings: dict

    def log_message(self, format: str, *args: object) -> None:
        log(f"http {self.address_string()} {format % args}")

    def send_json(self, status: int, body: object, headers: dict | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def user(self) -> dict | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        status, body = self.es.authenticate(username, password)
        return body if status == 200 and isinstance(body, dict) else None

    def handle_any(self) -> None:
        path = unquote(urlsplit(self.path).path).rstrip("/") or "/"
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            status, body = self.route(self.command, path, raw)
            self.send_json(status, body)
        except HttpError as exc:
            self.send_json(exc.status, exc.body())

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

    def route(self, method: str, path: str, raw: bytes) -> tuple[int, object]:
        user = self.user()
        if path == "/api/status" and method == "GET":
            code = 200 if self.es.level == "available" else 503
            if user is None:
                return code, {"status": {"overall": {"level": self.es.level}}}
            return code, self.status()
        if user is None:
            raise HttpError(401, "Unauthorized")
        if method != "GET" and "kbn-xsrf" not in {k.lower() for k in self.headers}:
            raise HttpError(400, "Request must contain a kbn-xsrf header.")
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "data_views"]:
            return self.data_views(method, parts[2:], raw)
        raise HttpError(404, "Not Found")

    def status(self) -> dict:
        level = self.es.level
        return {
            "name": self.settings.get("server.name", socket.gethostname()),
            "uuid": (Path(str(self.settings["path.data"])) / "uuid").read_text().strip(),
            "version": {
                "number": VERSION,
                "build_hash": "standin",
                "build_number": 0,
                "build_snapshot": False,
                "build_flavor": "traditional",
                "build_date": "2026-01-01T00:00:00.000Z",
            },
            "status": {
                "overall": {
                    "level": level,
                    "summary": self.es.summary
                    if level != "available"
                    else "All services and plugins are available",
                },
                "core": {
                    "elasticsearch": {"level": level, "summary": self.es.summary},
                    "savedObjects": {"level": level, "summary": "SavedObjects service"},
                },
                "plugins": {},
            },
            "metrics": {
                "last_updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "collection_interval_in_millis": 5000,
            },
            "standin": BANNER,
        }

    def body(self, raw: bytes) -> dict:
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError as exc:
            raise HttpError(400, f"Invalid JSON: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("data_view"), dict):
            raise HttpError(400, "[request body.data_view]: expected value of type [object]")
        for key in body:
            if key not in ("data_view", "override", "refresh_fields"):
                raise HttpError(400, f"[request body.{key}]: definition for this key is missing")
        for key in body["data_view"]:
            if key not in DATA_VIEW_KEYS:
                raise HttpError(
                    400, f"[request body.data_view.{key}]: definition for this key is missing"
                )
        return body

    def data_views(self, method: str, parts: list[str], raw: bytes) -> tuple[int, object]:
        views = self.views
        if not parts and method == "GET":
            return 200, {
                "data_view": [
                    {
                        "id": i,
                        "namespaces": ["default"],
                        "title": v["title"],
                        "name": v.get("name", v["title"]),
                        "typeMeta": {},
                    }
                    for i, v in sorted(views.items.items())
                ]
            }
        if parts == ["data_view"] and method == "POST":
            body = self.body(raw)
            spec = body["data_view"]
            if not spec.get("title"):
                raise HttpError(
                    400, "[request body.data_view.title]: expected value of type [string]"
                )
            view_id = str(spec.get("id") or uuid.uuid4())
            with views.lock:
                if view_id in views.items:
                    raise HttpError(409, f"Saved object [index-pattern/{view_id}] conflict")
                duplicate = [i for i, v in views.items.items() if v["title"] == spec["title"]]
                if duplicate and not body.get("override"):
                    raise HttpError(400, f"Duplicate data view: {spec['title']}")
                views.items[view_id] = {k: v for k, v in spec.items() if k != "id"}
                views.save()
            return 200, {"data_view": full_view(view_id, views.items[view_id])}
        if len(parts) == 2 and parts[0] == "data_view":
            view_id = parts[1]
            with views.lock:
                if view_id not in views.items:
                    raise HttpError(404, f"Saved object [index-pattern/{view_id}] not found")
                if method == "GET":
                    return 200, {"data_view": full_view(view_id, views.items[view_id])}
                if method == "POST":
                    spec = self.body(raw)["data_view"]
                    views.items[view_id].update({k: v for k, v in spec.items() if k != "id"})
                    views.save()
                    return 200, {"data_view": full_view(view_id, views.items[view_id])}
                if method == "DELETE":
                    del views.items[view_id]
                    views.save()
                    return 200, {}
        raise HttpError(404, "Not Found")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kibana", exit_on_error=False, add_help=False)
    parser.add_argument("-c", "--config", action="append", default=[])
    parser.add_argument("--allow-root", action="store_true")
    parser.add_argument("-V", "--version", action="store_true")
    parser.add_argument("-h", "--help", action="store_true")
    try:
        args, unknown = parser.parse_known_args(argv)
    except argparse.ArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EX_USAGE
    if unknown:
        print(f"error: unknown option '{unknown[0]}'", file=sys.stderr)
        return EX_USAGE
    if args.version:
        print(f"{VERSION} ({BANNER})")
        return 0
    if args.help:
        parser.print_help()
        return 0
    log(BANNER)
    configs = [Path(c) for c in args.config] or [HOME / "config" / "kibana.yml"]
    try:
        settings = load_config(configs)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EX_USAGE
    if os.geteuid() == 0 and not args.allow_root:
        print("Kibana should not be run as root.  Use --allow-root to continue.", file=sys.stderr)
        return 1
    data_dir = Path(str(settings.setdefault("path.data", HOME / "data")))
    if not os.access(data_dir, os.W_OK):
        print(f"FATAL Error: path.data [{data_dir}] is not writable", file=sys.stderr)
        return 1
    uuid_file = data_dir / "uuid"
    if not uuid_file.exists():
        uuid_file.write_text(str(uuid.uuid4()))
    Handler.settings = settings
    Handler.es = Elasticsearch(settings)
    Handler.views = DataViews(data_dir)
    host = str(settings.get("server.host", "localhost"))
    port = int(settings.get("server.port", 5601))
    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        print(
            f"FATAL Error: Port {port} is already in use or {host} is not local: {exc}",
            file=sys.stderr,
        )
        return 1
    server.daemon_threads = True
    scheme = "http"
    if settings.get("server.ssl.enabled") is True:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(
            str(settings["server.ssl.certificate"]), str(settings["server.ssl.key"])
        )
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    if settings.get("pid.file"):
        Path(str(settings["pid.file"])).write_text(f"{os.getpid()}\n")
    threading.Thread(target=Handler.es.watch, daemon=True).start()
    log(f"http server running at {scheme}://{host}:{port}")

    def stop(*_: object) -> None:
        if settings.get("pid.file"):
            with contextlib.suppress(OSError):
                Path(str(settings["pid.file"])).unlink()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
