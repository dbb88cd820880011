#!/usr/bin/env python3
"""Filebeat STAND-IN for tests (not Filebeat): the subset of Filebeat 9.x the filebeat role uses.

Packed by tests/mirror/build.py as ``filebeat-<v>-linux-x86_64/filebeat`` inside
``filebeat-<v>-linux-x86_64.tar.gz``; runs on the test hosts' Python 3 with the standard
library and a vendored PyYAML (``lib/``). After the upstream documentation:

Command line (Filebeat Reference, "Command reference"; Beats 9 accepts only double-dash long
flags): ``filebeat [run]``, ``filebeat test config``, ``filebeat test output``,
``filebeat version``; global flags ``-c/--c``, ``-e/--e``, ``-d/--d``, ``-E/--E``, ``-v/--v``,
``--path.home``, ``--path.config``, ``--path.data``, ``--path.logs``, ``--strict.perms``,
``--environment``. Others are refused ("unknown flag"). ``-c`` is relative to path.config.
Strict permissions ("Config file ownership and permissions"): the file must be owned by root
or the user running Filebeat and not writable by group or others.

Configuration (Filebeat Reference: "filestream input", "journald input", "Configure the
Logstash output", "SSL", "Configure logging", "HTTP endpoint", "Parsers"): the keys listed in
``TOP``, ``INPUT_KEYS`` and ``PARSERS`` below. STRICTER THAN UPSTREAM on purpose: real Filebeat
ignores most unknown keys; this stand-in refuses every key outside those lists so a typo in
the role's template fails the test. Like upstream it refuses unknown input types, unknown
processors, duplicate input ids, bad ssl.verification_mode values and more than one output.

Runtime: filestream inputs tail their globs (scan every prospector.scanner.check_interval;
Filebeat 9's default fingerprint file identity, so files shorter than
fingerprint.offset + fingerprint.length bytes wait until they grow), with the ``container``
parser (Docker json-file lines: message, stream, time) and ``ndjson``; journald inputs read
``journalctl --output=json --follow`` (Filebeat 9 also runs journalctl). Events go to
output.logstash over Lumberjack v2 (window, zlib-compressed JSON frames, wait for the ACK,
retry with backoff, at-least-once; offsets are saved after the ACK) over TLS verified against
ssl.certificate_authorities (verification_mode full checks the host name too), with the client
certificate when configured. ``http.enabled`` serves ``GET /``, ``/stats`` and ``/state``
(event counters) on http.host:http.port.

Pages (elastic.co/guide/en/beats/filebeat/current/...): command-line-options.html,
filebeat-input-filestream.html, filebeat-input-journald.html, logstash-output.html,
configuration-ssl.html, configuration-logging.html, http-endpoint.html,
config-file-permissions.html, defining-processors.html; the Beats 9.0 breaking changes
(double-dash flags, fingerprint file identity).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import json
import os
import pwd
import queue
import socket
import ssl
import stat
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "lib"))
import yaml  # noqa: E402  vendored next to the stand-in

VERSION = "9.5.7"
STANDIN = (
    f"filebeat version {VERSION} (amd64), libbeat {VERSION} "
    "(flaskfleet test STAND-IN, not Filebeat)"
)


class ConfigError(Exception):
    """A configuration Filebeat would refuse (or this stricter stand-in refuses)."""


SSL_KEYS = {
    "enabled",
    "verification_mode",
    "certificate_authorities",
    "certificate",
    "key",
    "key_passphrase",
    "supported_protocols",
    "cipher_suites",
    "curve_types",
    "renegotiation",
    "ca_trusted_fingerprint",
    "ca_sha256",
}
TOP = {
    "filebeat.inputs",
    "filebeat.registry.path",
    "filebeat.registry.flush",
    "filebeat.registry.file_permissions",
    "filebeat.shutdown_timeout",
    "filebeat.config.modules.path",
    "filebeat.config.modules.reload.enabled",
    "filebeat.config.modules.reload.period",
    "filebeat.overwrite_pipelines",
    "name",
    "tags",
    "fields",
    "fields_under_root",
    "processors",
    "max_procs",
    "timestamp.precision",
    "output.logstash.hosts",
    "output.logstash.loadbalance",
    "output.logstash.worker",
    "output.logstash.compression_level",
    "output.logstash.escape_html",
    "output.logstash.ttl",
    "output.logstash.pipelining",
    "output.logstash.proxy_url",
    "output.logstash.proxy_use_local_resolver",
    "output.logstash.index",
    "output.logstash.bulk_max_size",
    "output.logstash.slow_start",
    "output.logstash.timeout",
    "output.logstash.max_retries",
    "output.logstash.backoff.init",
    "output.logstash.backoff.max",
    "output.logstash.enabled",
    "output.console.enabled",
    "output.console.pretty",
    "output.console.codec.json.pretty",
    "logging.level",
    "logging.to_stderr",
    "logging.to_files",
    "logging.to_syslog",
    "logging.json",
    "logging.selectors",
    "logging.metrics.enabled",
    "logging.metrics.period",
    "logging.files.path",
    "logging.files.name",
    "logging.files.keepfiles",
    "logging.files.permissions",
    "logging.files.rotateeverybytes",
    "logging.files.interval",
    "http.enabled",
    "http.host",
    "http.port",
    "path.home",
    "path.config",
    "path.data",
    "path.logs",
    "queue.mem.events",
    "queue.mem.flush.min_events",
    "queue.mem.flush.timeout",
    "monitoring.enabled",
} | {f"output.logstash.ssl.{k}" for k in SSL_KEYS}
COMMON_INPUT = {
    "type",
    "id",
    "enabled",
    "fields",
    "fields_under_root",
    "tags",
    "processors",
    "index",
    "pipeline",
    "keep_null",
    "publisher_pipeline.disable_host",
    "parsers",
}
INPUT_KEYS = {
    "filestream": COMMON_INPUT
    | {
        "paths",
        "encoding",
        "exclude_lines",
        "include_lines",
        "buffer_size",
        "message_max_bytes",
        "prospector.scanner.check_interval",
        "prospector.scanner.exclude_files",
        "prospector.scanner.include_files",
        "prospector.scanner.symlinks",
        "prospector.scanner.resend_on_touch",
        "prospector.scanner.fingerprint.enabled",
        "prospector.scanner.fingerprint.offset",
        "prospector.scanner.fingerprint.length",
        "file_identity.native",
        "file_identity.path",
        "file_identity.inode_marker.path",
        "file_identity.fingerprint",
        "ignore_older",
        "ignore_inactive",
        "close.on_state_change.inactive",
        "close.on_state_change.renamed",
        "close.on_state_change.removed",
        "close.on_state_change.check_interval",
        "close.reader.on_eof",
        "close.reader.after_interval",
        "clean_inactive",
        "clean_removed",
        "harvester_limit",
        "backoff.init",
        "backoff.max",
        "rotation.external.strategy.copytruncate",
        "take_over.enabled",
        "take_over.from_ids",
        "compression",
    },
    "journald": COMMON_INPUT
    | {
        "paths",
        "seek",
        "cursor_seek_fallback",
        "since",
        "include_matches.match",
        "include_matches.and",
        "include_matches.or",
        "units",
        "syslog_identifiers",
        "transports",
        "facilities",
        "merge",
        "save_remote_hostname",
        "backoff",
        "max_backoff",
        "ignore_inactive",
    },
}
KNOWN_UNIMPLEMENTED = {
    "log",
    "container",
    "stdin",
    "tcp",
    "udp",
    "syslog",
    "unix",
    "http_endpoint",
    "httpjson",
    "kafka",
    "redis",
    "mqtt",
    "aws-s3",
    "gcp-pubsub",
    "winlog",
    "cel",
    "entity-analytics",
    "netflow",
    "unifiedlogs",
    "benchmark",
}
PARSERS = {
    "container": {"stream", "format"},
    "ndjson": {
        "target",
        "overwrite_keys",
        "expand_keys",
        "add_error_key",
        "message_key",
        "document_id",
        "ignore_decoding_error",
    },
    "multiline": {
        "type",
        "pattern",
        "negate",
        "match",
        "max_lines",
        "timeout",
        "count_lines",
        "skip_newline",
        "flush_pattern",
    },
}
PROCESSORS = {
    "add_host_metadata",
    "add_fields",
    "add_tags",
    "drop_fields",
    "add_locale",
    "add_cloud_metadata",
    "add_docker_metadata",
    "rename",
    "drop_event",
    "decode_json_fields",
    "dissect",
    "copy_fields",
    "add_id",
    "add_kubernetes_metadata",
    "add_process_metadata",
    "include_fields",
    "timestamp",
    "fingerprint",
}
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def flatten(data, prefix: str = "") -> dict:
    out = {}
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data}
    for key, value in data.items():
        name = f"{prefix}{key}"
        # User fields and journald matches are free-form: kept whole.
        if isinstance(value, dict) and value and name != "fields" and name != "include_matches":
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def expand_dots(data, path: str = ""):
    """Read ``a.b: 1`` as ``a: {b: 1}``, like go-ucfg; user fields stay as given."""
    if isinstance(data, list):
        return [expand_dots(item, path) for item in data]
    if not isinstance(data, dict) or path.endswith("fields"):
        return data
    out: dict = {}
    for key, value in data.items():
        parts = str(key).split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        value = expand_dots(value, f"{path}.{key}")
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = value
    return out


def duration(value, default: float) -> float:
    if value is None:
        return default
    text = str(value)
    for unit, factor in sorted(DURATION_UNITS.items(), key=lambda u: -len(u[0])):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * factor
    raise ConfigError(f'time: invalid duration "{text}"')


def check_processors(processors, where: str) -> None:
    if processors is None:
        return
    if not isinstance(processors, list):
        raise ConfigError(f"{where}processors must be a list")
    for entry in processors:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(f"{where}processors: each entry is a mapping with one processor name")
        name = next(iter(entry))
        if name not in PROCESSORS:
            raise ConfigError(
                f"the processor action {name} does not exist. Valid actions: "
                f"{', '.join(sorted(PROCESSORS))}"
            )


def validate(config: dict) -> dict:
    flat = flatten(config)
    for key in flat:
        if key not in TOP:
            raise ConfigError(
                f"setting '{key}' is not known (the stand-in refuses keys the role "
                f"does not write; see filebeat_standin.py)"
            )
    outputs = {k.split(".")[1] for k in flat if k.startswith("output.")}
    if len(outputs) > 1:
        raise ConfigError(
            f"error unpacking config data: more than one namespace configured "
            f"accessing 'output' ({sorted(outputs)})"
        )
    if not outputs:
        raise ConfigError("No outputs are defined. Please define one under the output section.")
    mode = flat.get("output.logstash.ssl.verification_mode", "full")
    if mode not in ("full", "strict", "certificate", "none"):
        raise ConfigError(
            f"unknown verification mode '{mode}' accessing 'output.logstash.ssl.verification_mode'"
        )
    if "output.logstash.hosts" in flat:
        hosts = flat["output.logstash.hosts"]
        if not isinstance(hosts, list) or not hosts:
            raise ConfigError("missing required field accessing 'output.logstash.hosts'")
        for host in hosts:
            if not isinstance(host, str) or ":" not in host:
                raise ConfigError(
                    f"invalid host '{host}' accessing 'output.logstash.hosts' (host:port expected)"
                )
    for key in (
        "output.logstash.ssl.certificate_authorities",
        "output.logstash.ssl.certificate",
        "output.logstash.ssl.key",
    ):
        for path in flat.get(key) if isinstance(flat.get(key), list) else [flat.get(key)]:
            if path and not Path(path).is_file():
                raise ConfigError(f"open {path}: no such file or directory accessing '{key}'")
    if bool(flat.get("output.logstash.ssl.certificate")) != bool(
        flat.get("output.logstash.ssl.key")
    ):
        raise ConfigError("both certificate and key must be given accessing 'output.logstash.ssl'")
    level = flat.get("logging.level", "info")
    if level not in ("debug", "info", "warning", "error", "critical"):
        raise ConfigError(f"invalid logging level '{level}' accessing 'logging.level'")
    check_processors(config.get("processors"), "")
    ids = set()
    for index, entry in enumerate(config.get("filebeat", {}).get("inputs") or []):
        if not isinstance(entry, dict):
            raise ConfigError(f"filebeat.inputs.{index} must be a mapping")
        kind = entry.get("type")
        if kind in KNOWN_UNIMPLEMENTED:
            raise ConfigError(
                f"input type '{kind}' exists upstream but the stand-in does not implement it"
            )
        if kind not in INPUT_KEYS:
            raise ConfigError(
                f"Error creating runner from config: No such input type exist: '{kind}'"
            )
        for key in flatten(entry):
            if key not in INPUT_KEYS[kind] and not key.startswith(("fields.", "include_matches")):
                raise ConfigError(
                    f"setting '{key}' is not known for a {kind} input (filebeat.inputs.{index})"
                )
        input_id = entry.get("id")
        if kind == "filestream" and not input_id:
            raise ConfigError(f"filestream input filebeat.inputs.{index} has no id")
        if input_id in ids:
            raise ConfigError(f"filestream inputs with duplicated IDs: '{input_id}'")
        ids.add(input_id)
        if kind == "filestream" and not entry.get("paths"):
            raise ConfigError(f"no path is configured accessing 'filebeat.inputs.{index}.paths'")
        for parser in entry.get("parsers") or []:
            if (
                not isinstance(parser, dict)
                or len(parser) != 1
                or next(iter(parser)) not in PARSERS
            ):
                raise ConfigError(f"parser {parser} is not supported (filebeat.inputs.{index})")
            name, options = next(iter(parser.items()))
            unknown = set(options or {}) - PARSERS[name]
            if unknown:
                raise ConfigError(f"setting {sorted(unknown)} is not known for parser {name}")
        check_processors(entry.get("processors"), f"filebeat.inputs.{index}.")
        duration(
            entry.get("prospector", {}).get("scanner", {}).get("check_interval")
            if isinstance(entry.get("prospector"), dict)
            else None,
            10,
        )
    return flat


def check_perms(path: Path) -> None:
    info = path.stat()
    if info.st_uid not in (0, os.geteuid()):
        raise ConfigError(
            f'config file ("{path}") must be owned by the user identifier '
            f"(uid={os.geteuid()}) or root"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(
            f'config file ("{path}") can only be writable by the owner but the '
            f'permissions are "{stat.filemode(info.st_mode)}" (to fix the '
            f"permissions use: 'chmod go-w {path}')"
        )


# ---------------------------------------------------------------------------- shipping
def lumberjack_frames(events: list[dict], level: int) -> bytes:
    body = b"".join(
        b"2J" + struct.pack(">II", seq, len(data)) + data
        for seq, data in enumerate((json.dumps(e).encode() for e in events), start=1)
    )
    packed = zlib.compress(body, level or 1)
    return b"2W" + struct.pack(">I", len(events)) + b"2C" + struct.pack(">I", len(packed)) + packed


def tls_context(flat: dict) -> ssl.SSLContext | None:
    if not any(k.startswith("output.logstash.ssl.") for k in flat):
        return None
    if flat.get("output.logstash.ssl.enabled") is False:
        return None
    context = ssl.create_default_context()
    for ca in flat.get("output.logstash.ssl.certificate_authorities") or []:
        context.load_verify_locations(cafile=ca)
    if flat.get("output.logstash.ssl.certificate"):
        context.load_cert_chain(
            flat["output.logstash.ssl.certificate"],
            flat["output.logstash.ssl.key"],
            password=flat.get("output.logstash.ssl.key_passphrase"),
        )
    mode = flat.get("output.logstash.ssl.verification_mode", "full")
    if mode == "certificate":
        context.check_hostname = False
    elif mode == "none":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(host: str, flat: dict, timeout: float):
    name, _, port = host.rpartition(":")
    raw = socket.create_connection((name, int(port)), timeout=timeout)
    context = tls_context(flat)
    if context is None:
        return raw
    try:
        return context.wrap_socket(raw, server_hostname=name)
    except (ssl.SSLError, OSError):
        raw.close()
        raise


class Beat:
    def __init__(self, config: dict, flat: dict, paths: dict, to_stderr: bool):
        self.config, self.flat, self.paths = config, flat, paths
        self.queue: queue.Queue = queue.Queue(maxsize=4096)
        self.lock = threading.Lock()
        self.counters = {
            "published": 0,
            "acked": 0,
            "failed": 0,
            "batches": 0,
            "bytes": 0,
            "harvesters": 0,
            "journald": 0,
        }
        self.uuid = self._uuid()
        self.ephemeral_id = str(uuid.uuid4())
        self.hostname = socket.gethostname()
        self.name = config.get("name") or self.hostname
        registry_dir = Path(flat.get("filebeat.registry.path") or Path(paths["data"]) / "registry")
        (registry_dir / "filebeat").mkdir(parents=True, exist_ok=True)
        self.registry_file = registry_dir / "filebeat" / "standin-registry.json"
        self.registry = (
            json.loads(self.registry_file.read_text()) if self.registry_file.exists() else {}
        )
        self.log_handle = None
        if not to_stderr and flat.get("logging.to_files", True):
            log_dir = Path(flat.get("logging.files.path") or paths["logs"])
            log_dir.mkdir(parents=True, exist_ok=True)
            self.log_handle = (log_dir / "filebeat").open("a", buffering=1)

    def _uuid(self) -> str:
        meta = Path(self.paths["data"]) / "meta.json"
        meta.parent.mkdir(parents=True, exist_ok=True)
        if not meta.exists():
            meta.write_text(json.dumps({"uuid": str(uuid.uuid4()), "first_start": now_iso()}))
        return json.loads(meta.read_text())["uuid"]

    def log(self, level: str, logger: str, message: str) -> None:
        line = json.dumps(
            {
                "log.level": level,
                "@timestamp": now_iso(),
                "log.logger": logger,
                "message": message,
                "service.name": "filebeat",
            }
        )
        if self.log_handle:
            self.log_handle.write(line + "\n")
        else:
            print(line, file=sys.stderr, flush=True)

    def save_registry(self) -> None:
        tmp = self.registry_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.registry))
        tmp.replace(self.registry_file)

    def base_event(self, input_type: str, message: str, extra: dict, entry: dict) -> dict:
        event = {
            "@timestamp": now_iso(),
            "@metadata": {"beat": "filebeat", "type": "_doc", "version": VERSION},
            "message": message,
            "input": {"type": input_type},
            "agent": {
                "type": "filebeat",
                "name": self.name,
                "version": VERSION,
                "id": self.uuid,
                "ephemeral_id": self.ephemeral_id,
            },
            "ecs": {"version": "8.0.0"},
            "host": {"name": self.name},
        }
        deep_merge(event, extra)
        for source in (self.config, entry):
            if source.get("fields"):
                if source.get("fields_under_root"):
                    deep_merge(event, source["fields"])
                else:
                    deep_merge(event, {"fields": source["fields"]})
            if source.get("tags"):
                event.setdefault("tags", [])
                event["tags"] += [t for t in source["tags"] if t not in event["tags"]]
        return event

    # -- filestream
    def filestream(self, entry: dict) -> None:
        input_id = entry["id"]
        scanner = (entry.get("prospector") or {}).get("scanner") or {}
        interval = duration(scanner.get("check_interval"), 10)
        fingerprint = scanner.get("fingerprint") or {}
        identity = entry.get("file_identity") or {"fingerprint": None}
        minimum = 0
        if "fingerprint" in identity and fingerprint.get("enabled", True):
            minimum = int(fingerprint.get("offset", 0)) + int(fingerprint.get("length", 1024))
        state = self.registry.setdefault(input_id, {})
        # Offsets read so far; the registry (state) advances only when Logstash ACKs.
        reading: dict[str, int] = dict(state)
        partial: dict[str, str] = {}
        while True:
            for pattern in entry["paths"]:
                for path in sorted(glob.glob(pattern)):
                    try:
                        size = os.path.getsize(path)
                    except OSError:
                        continue
                    if size < minimum:
                        continue
                    offset = reading.get(path, 0)
                    if size < offset:
                        offset = 0
                    if size == offset:
                        continue
                    if path not in reading:
                        self.log("info", "input.filestream", f"A new file {path} has been found")
                        with self.lock:
                            self.counters["harvesters"] += 1
                    reading[path] = self.harvest(entry, path, offset, partial)
            time.sleep(interval)

    def harvest(self, entry: dict, path: str, offset: int, partial: dict) -> int:
        """Read the complete lines from ``offset``; return the offset after the last one."""
        try:
            handle = open(path, "rb")  # noqa: SIM115  closed below, read incrementally
        except OSError as error:
            self.log(
                "error", "input.filestream", f"Harvester could not be started on {path}: {error}"
            )
            return offset
        with handle:
            handle.seek(offset)
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break
                line_offset = offset
                offset += len(raw)
                event = self.parse_line(
                    entry, path, raw.decode("utf-8", "replace").rstrip("\r\n"), line_offset, partial
                )
                if event is not None:
                    self.publish(event, ("file", entry["id"], path, offset))
        return offset

    def parse_line(
        self, entry: dict, path: str, line: str, offset: int, partial: dict
    ) -> dict | None:
        extra: dict = {"log": {"offset": offset, "file": {"path": path}}}
        message = line
        for parser in entry.get("parsers") or []:
            name, options = next(iter(parser.items()))
            options = options or {}
            if name == "container":
                try:
                    record = json.loads(message)
                except ValueError:
                    return None
                stream = options.get("stream", "all")
                if stream != "all" and record.get("stream") != stream:
                    return None
                text = partial.pop(path, "") + record.get("log", "")
                if not text.endswith("\n"):
                    partial[path] = text
                    return None
                message = text.rstrip("\n")
                extra["stream"] = record.get("stream")
                if record.get("time"):
                    extra["@timestamp"] = record["time"]
            elif name == "ndjson":
                try:
                    decoded = json.loads(message)
                except ValueError as error:
                    if options.get("add_error_key"):
                        extra["error"] = {
                            "message": f"Error decoding JSON: {error}",
                            "type": "json",
                        }
                    continue
                if isinstance(decoded, dict):
                    target = options.get("target", "")
                    if target:
                        extra[target] = decoded
                    else:
                        deep_merge(extra, decoded)
                    message = decoded.get(options.get("message_key", "message"), message)
        return self.base_event("filestream", message, extra, entry)

    # -- journald
    def journald(self, entry: dict) -> None:
        key = entry.get("id") or "journald"
        cursor = self.registry.get(key, {}).get("cursor")
        command = ["journalctl", "--output=json", "--follow", "--no-pager", "--all"]
        seek = entry.get("seek", "cursor")
        fallback = entry.get("cursor_seek_fallback", "head")
        if seek == "cursor" and cursor:
            command.append(f"--after-cursor={cursor}")
        elif (seek == "tail") or (seek == "cursor" and fallback == "tail"):
            command.append("--lines=0")
        for unit in entry.get("units") or []:
            command.append(f"--unit={unit}")
        for identifier in entry.get("syslog_identifiers") or []:
            command.append(f"--identifier={identifier}")
        for path in entry.get("paths") or []:
            command.append(f"--directory={path}" if os.path.isdir(path) else f"--file={path}")
        self.log("info", "input.journald", f"journalctl started: {' '.join(command)}")
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
            for line in process.stdout:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                message = record.get("MESSAGE")
                if isinstance(message, list):
                    message = bytes(message).decode("utf-8", "replace")
                extra = {
                    "journald": {
                        "custom": {
                            k.lower(): v
                            for k, v in record.items()
                            if not k.startswith("_") and k not in ("MESSAGE",)
                        }
                    },
                    "log": {"syslog": {"priority": int(record.get("PRIORITY", 6))}},
                    "systemd": {"unit": record.get("_SYSTEMD_UNIT")},
                    "syslog": {"identifier": record.get("SYSLOG_IDENTIFIER")},
                    "process": {"pid": int(record["_PID"])} if record.get("_PID") else {},
                }
                if record.get("__REALTIME_TIMESTAMP"):
                    stamp = int(record["__REALTIME_TIMESTAMP"]) / 1_000_000
                    extra["@timestamp"] = iso(dt.datetime.fromtimestamp(stamp, dt.UTC))
                with self.lock:
                    self.counters["journald"] += 1
                self.publish(
                    self.base_event("journald", message or "", extra, entry),
                    ("journald", key, record.get("__CURSOR")),
                )
        self.log("error", "input.journald", "journalctl exited")

    # -- pipeline and output
    def publish(self, event: dict, position: tuple) -> None:
        self.queue.put((event, position))
        with self.lock:
            self.counters["published"] += 1

    def commit(self, position: tuple) -> None:
        if position[0] == "file":
            self.registry.setdefault(position[1], {})[position[2]] = position[3]
        elif position[2]:
            self.registry.setdefault(position[1], {})["cursor"] = position[2]

    def output(self) -> None:
        hosts = self.flat.get("output.logstash.hosts") or []
        batch_size = int(self.flat.get("output.logstash.bulk_max_size", 2048))
        timeout = duration(self.flat.get("output.logstash.timeout"), 30)
        level = int(self.flat.get("output.logstash.compression_level", 3))
        backoff_init = duration(self.flat.get("output.logstash.backoff.init"), 1)
        backoff_max = duration(self.flat.get("output.logstash.backoff.max"), 60)
        console = "output.console.enabled" in self.flat or any(
            k.startswith("output.console") for k in self.flat
        )
        turn, conn, backoff = 0, None, backoff_init
        while True:
            batch = [self.queue.get()]
            with contextlib.suppress(queue.Empty):
                while len(batch) < batch_size:
                    batch.append(self.queue.get(timeout=0.5))
            if console:
                for event, position in batch:
                    print(json.dumps(event), flush=True)
                    self.commit(position)
                self.save_registry()
                continue
            while True:
                host = hosts[turn % len(hosts)]
                try:
                    if conn is None:
                        conn = connect(host, self.flat, timeout)
                        self.log(
                            "info",
                            "publisher_pipeline_output",
                            f"Connection to backoff(async(tcp://{host})) established",
                        )
                    data = lumberjack_frames([e for e, _ in batch], level)
                    conn.sendall(data)
                    acked = 0
                    while acked < len(batch):
                        head = recv_exact(conn, 6)
                        if head[:2] != b"2A":
                            raise ConnectionError(f"unexpected frame {head[:2]!r}")
                        acked = struct.unpack(">I", head[2:])[0]
                    for _, position in batch:
                        self.commit(position)
                    self.save_registry()
                    with self.lock:
                        self.counters["acked"] += len(batch)
                        self.counters["batches"] += 1
                        self.counters["bytes"] += len(data)
                    backoff = backoff_init
                    if self.flat.get("output.logstash.loadbalance"):
                        turn += 1
                    break
                except (OSError, ssl.SSLError, ConnectionError) as error:
                    self.log(
                        "error",
                        "logstash",
                        f"Failed to connect to backoff(async(tcp://{host})): {error}",
                    )
                    with self.lock:
                        self.counters["failed"] += len(batch)
                    if conn is not None:
                        with contextlib.suppress(OSError):
                            conn.close()
                    conn = None
                    turn += 1
                    time.sleep(backoff)
                    backoff = min(backoff * 2, backoff_max)

    def stats(self) -> dict:
        with self.lock:
            c = dict(self.counters)
        return {
            "beat": {
                "info": {
                    "ephemeral_id": self.ephemeral_id,
                    "name": "filebeat",
                    "version": VERSION,
                    "uptime": {"ms": int((time.time() - STARTED) * 1000)},
                }
            },
            "filebeat": {
                "events": {
                    "added": c["published"],
                    "done": c["acked"],
                    "active": c["published"] - c["acked"],
                },
                "harvester": {"started": c["harvesters"], "running": c["harvesters"]},
            },
            "libbeat": {
                "output": {
                    "type": "logstash" if self.flat.get("output.logstash.hosts") else "console",
                    "events": {
                        "acked": c["acked"],
                        "batches": c["batches"],
                        "failed": c["failed"],
                        "total": c["acked"] + c["failed"],
                        "active": c["published"] - c["acked"],
                        "dropped": 0,
                    },
                    "write": {"bytes": c["bytes"], "errors": 0},
                },
                "pipeline": {
                    "events": {
                        "published": c["published"],
                        "total": c["published"],
                        "failed": 0,
                        "active": c["published"] - c["acked"],
                    }
                },
            },
            "registrar": {"states": {"current": sum(len(v) for v in self.registry.values())}},
        }

    def info(self) -> dict:
        user = pwd.getpwuid(os.geteuid())
        return {
            "beat": "filebeat",
            "binary_arch": "amd64",
            "build_commit": "standin",
            "build_time": "2026-01-01T00:00:00.000Z",
            "elastic_licensed": True,
            "ephemeral_id": self.ephemeral_id,
            "gid": str(os.getegid()),
            "hostname": self.hostname,
            "name": self.name,
            "uid": str(os.geteuid()),
            "username": user.pw_name,
            "uuid": self.uuid,
            "version": VERSION,
            "standin": STANDIN,
        }


STARTED = time.time()


def recv_exact(conn, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed by the server")
        data += chunk
    return data


def deep_merge(target: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        else:
            target[key] = value


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(dt.datetime.now(dt.UTC))


class Handler(BaseHTTPRequestHandler):
    beat: Beat

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/") or "/"
        if path == "/":
            status, body = 200, self.beat.info()
        elif path == "/stats":
            status, body = 200, self.beat.stats()
        elif path == "/state":
            status, body = (
                200,
                {
                    "beat": {"name": self.beat.name},
                    "host": {"hostname": self.beat.hostname},
                    "output": {"name": "logstash"},
                    "service": {"id": self.beat.uuid, "name": "filebeat", "version": VERSION},
                },
            )
        else:
            status, body = 404, {"error": "404 page not found"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:
        return


# ---------------------------------------------------------------------------- command line
VALUE_FLAGS = {
    "-c": "c",
    "--c": "c",
    "-d": "d",
    "--d": "d",
    "-E": "E",
    "--E": "E",
    "--path.home": "path.home",
    "--path.config": "path.config",
    "--path.data": "path.data",
    "--path.logs": "path.logs",
    "--environment": "environment",
}
BOOL_FLAGS = {"-e": "e", "--e": "e", "-v": "v", "--v": "v", "--strict.perms": "strict.perms"}


def parse_args(argv: list[str]) -> tuple[list[str], dict]:
    words, flags = [], {"E": []}
    it = iter(argv)
    for arg in it:
        name, eq, inline = arg.partition("=")
        if name in VALUE_FLAGS:
            value = inline if eq else next(it, None)
            if value is None:
                raise ConfigError(f"flag needs an argument: {name}")
            if VALUE_FLAGS[name] == "E":
                flags["E"].append(value)
            else:
                flags[VALUE_FLAGS[name]] = value
        elif name in BOOL_FLAGS:
            flags[BOOL_FLAGS[name]] = inline.lower() != "false" if eq else True
        elif arg.startswith("-"):
            raise ConfigError(f"unknown flag: {arg}")
        else:
            words.append(arg)
    return words, flags


def load(flags: dict) -> tuple[dict, dict, dict, Path]:
    home = flags.get("path.home") or str(HERE)
    paths = {
        "home": home,
        "config": flags.get("path.config") or home,
        "data": flags.get("path.data") or f"{home}/data",
        "logs": flags.get("path.logs") or f"{home}/logs",
    }
    config_path = Path(flags.get("c", "filebeat.yml"))
    if not config_path.is_absolute():
        config_path = Path(paths["config"]) / config_path
    if not config_path.is_file():
        raise ConfigError(
            f"error loading config file: stat {config_path}: no such file or directory"
        )
    if flags.get("strict.perms", True):
        check_perms(config_path)
    try:
        config = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"error loading config file: {error}") from error
    config = expand_dots(config)
    for override in flags["E"]:
        key, _, value = override.partition("=")
        node = config
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(value)
    flat = validate(config)
    for key in ("home", "config", "data", "logs"):
        if f"path.{key}" in flat and not flags.get(f"path.{key}"):
            paths[key] = flat[f"path.{key}"]
    return config, flat, paths, config_path


def test_output(flat: dict) -> int:
    hosts = flat.get("output.logstash.hosts") or []
    status = 0
    for host in hosts:
        name, _, port = host.rpartition(":")
        print(f"logstash: {host}...")
        print("  connection...")
        print("    parse host... OK")
        try:
            addresses = sorted(
                {a[4][0] for a in socket.getaddrinfo(name, int(port), proto=socket.IPPROTO_TCP)}
            )
            print("    dns lookup... OK")
            print(f"    addresses: {', '.join(addresses)}")
            raw = socket.create_connection((name, int(port)), timeout=10)
            print("    dial up... OK")
        except OSError as error:
            print(f"    dial up... ERROR {error}")
            status = 1
            continue
        context = tls_context(flat)
        if context is None:
            print("  TLS... WARN secure connection disabled")
            raw.close()
        else:
            print("  TLS...")
            verifying = context.verify_mode != ssl.CERT_NONE
            print(
                f"    security: server's certificate chain verification is "
                f"{'enabled' if verifying else 'DISABLED'}"
            )
            try:
                tls = context.wrap_socket(raw, server_hostname=name)
                print("    handshake... OK")
                print(f"    TLS version: {tls.version()}")
                print("    dial up... OK")
                tls.close()
            except (ssl.SSLError, OSError) as error:
                print(f"    handshake... ERROR {error}")
                raw.close()
                status = 1
                continue
        print("  talk to server... OK")
    return status


def main(argv: list[str]) -> int:
    try:
        words, flags = parse_args(argv)
        if words[:1] == ["version"]:
            print(f"{STANDIN} [standin built 2026-01-01 00:00:00 +0000 UTC]")
            return 0
        if words[:1] == ["test"]:
            if words[1:] not in (["config"], ["output"]):
                raise ConfigError(f'unknown command "{" ".join(words[1:])}" for "filebeat test"')
            _config, flat, _paths, _ = load(flags)
            if words[1] == "config":
                print("Config OK")
                return 0
            return test_output(flat)
        if words not in ([], ["run"]):
            raise ConfigError(f'unknown command "{words[0]}" for "filebeat"')
        config, flat, paths, config_path = load(flags)
    except (ConfigError, OSError) as error:
        print(f"Exiting: {error} ({STANDIN})", file=sys.stderr)
        return 1
    beat = Beat(config, flat, paths, bool(flags.get("e")))
    beat.log("info", "instance", f"Beat ID: {beat.uuid} -- {STANDIN}, config {config_path}")
    beat.log(
        "info",
        "instance",
        f"filebeat start running. Home path: [{paths['home']}] Data path: [{paths['data']}]",
    )
    threading.Thread(target=beat.output, daemon=True).start()
    for entry in (config.get("filebeat") or {}).get("inputs") or []:
        if entry.get("enabled", True) is False:
            continue
        target = beat.filestream if entry["type"] == "filestream" else beat.journald
        threading.Thread(target=target, args=(entry,), daemon=True).start()
    if flat.get("http.enabled"):
        Handler.beat = beat
        server = ThreadingHTTPServer(
            (str(flat.get("http.host", "localhost")), int(flat.get("http.port", 5066))), Handler
        )
        beat.log(
            "info",
            "api",
            f"Starting stats endpoint on {server.server_address[0]}:{server.server_address[1]}",
        )
        server.serve_forever()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
