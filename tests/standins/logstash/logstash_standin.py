#!/usr/bin/env python3
"""Logstash STAND-IN for tests (not Logstash): the subset of Logstash 9.x the logstash role uses.

Packed by tests/mirror/build.py as ``logstash-<v>/bin/logstash`` inside
``logstash-<v>-linux-x86_64.tar.gz``. It runs on the test hosts' Python 3 with the standard
library and a vendored PyYAML (``lib/``). What it does, after the upstream documentation:

Command line (Logstash Reference, "Command-line flags"): ``-f/--path.config``,
``-e/--config.string``, ``-t/--config.test_and_exit``, ``--path.settings``, ``--path.data``,
``--path.logs``,
``--log.level``, ``--api.http.host``, ``--api.http.port``, ``-V/--version``. Anything else is
refused, like upstream ("Unrecognised option").

Settings (Logstash Reference, "logstash.yml"): ``<path.settings>/logstash.yml`` flat or nested;
unknown settings are refused (upstream: ``Setting "x" doesn't exist``). ``pipelines.yml`` is read
when no ``-f``/``-e`` is given. Logstash 9 refuses to run as root unless ``allow_superuser: true``
(Logstash 9.0 breaking changes), and so does this stand-in. ``jvm.options`` (``$LS_JVM_OPTS`` or
``<path.settings>/jvm.options``): -Xms/-Xmx must be valid sizes; reported by ``/_node/jvm``.

Pipeline language (Logstash Reference, "Structure of a config file", "Event dependent
configuration"): sections, plugin blocks, strings, numbers, barewords, arrays, hashes, comments,
``if/else if/else`` with ==, !=, <, >, <=, >=, =~, !~, in, not in, and, or, !. ``${VAR}``
references are resolved from the environment; an undefined one is an error (upstream:
"Cannot evaluate `${VAR}`"). Plugins and options accepted (others: "Couldn't find any <type>
plugin named" / "Unknown setting '<x>' for <plugin>"), per the plugin reference pages:
  input  beats (plugins-inputs-beats, v7: ssl_* names; the removed ssl, ssl_verify_mode, ...
         are refused as obsolete)
  filter json, date, mutate (plugins-filters-json/-date/-mutate) + the common filter options
  output elasticsearch (plugins-outputs-elasticsearch, ssl_* names), stdout
Path options (ssl_certificate, ssl_key, ssl_certificate_authorities) must name existing files,
as Logstash's ``:validate => :path`` does at config time.

Runtime: the node API on api.http.host:api.http.port (``GET /``, ``/_node/pipelines``,
``/_node/jvm``, ``/_node/stats``, ``/_node/stats/events``, ``/_health_report``); the Beats input
speaks Lumberjack v2 (window, compressed, JSON and data frames; ACK per window) over TLS with the
configured certificate and key, verifying client certificates against
ssl_certificate_authorities when ssl_client_authentication is optional/required; events go
through the json/date/mutate filters; the elasticsearch output writes each event, with its
resolved index, as a JSON line to ``<path.data>/standin/events.ndjson`` (for tests to read) and
POSTs the events that queued up, up to 125 at a time (pipeline.batch.size), to ``<host>/_bulk``
with the configured credentials and CA (best effort, 3 tries per host, where real Logstash
retries forever).

Pages (elastic.co/guide/en/logstash/current/...): running-logstash-command-line.html,
logstash-settings-file.html, jvm-settings.html, configuration-file-structure.html,
event-dependent-configuration.html, environment-variables.html, logstash-api.html
(node-info-api, node-stats-api), plugins-inputs-beats.html, plugins-filters-json.html,
plugins-filters-date.html, plugins-filters-mutate.html, plugins-outputs-elasticsearch.html;
the Logstash 9.0 breaking changes (allow_superuser); the Lumberjack v2 framing as
logstash-input-beats' PROTOCOL.md describes it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import glob
import json
import os
import queue
import re
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.request
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
import yaml  # noqa: E402  vendored next to the stand-in

VERSION = "9.5.7"
STANDIN = f"logstash {VERSION} (flaskfleet test STAND-IN, not Logstash)"
# Events per bulk request at most: upstream's default pipeline.batch.size.
BULK_BATCH_SIZE = 125


class ConfigError(Exception):
    """A configuration problem Logstash would refuse."""


# ---------------------------------------------------------------------------- settings
SETTINGS = {
    "node.name",
    "path.data",
    "pipeline.id",
    "pipeline.workers",
    "pipeline.batch.size",
    "pipeline.batch.delay",
    "pipeline.unsafe_shutdown",
    "pipeline.ordered",
    "pipeline.ecs_compatibility",
    "pipeline.separate_logs",
    "path.config",
    "config.string",
    "config.test_and_exit",
    "config.reload.automatic",
    "config.reload.interval",
    "config.debug",
    "config.support_escapes",
    "queue.type",
    "path.queue",
    "queue.page_capacity",
    "queue.max_events",
    "queue.max_bytes",
    "queue.checkpoint.acks",
    "queue.checkpoint.writes",
    "queue.checkpoint.retry",
    "dead_letter_queue.enable",
    "dead_letter_queue.max_bytes",
    "dead_letter_queue.flush_interval",
    "dead_letter_queue.storage_policy",
    "path.dead_letter_queue",
    "api.enabled",
    "api.http.host",
    "api.http.port",
    "api.environment",
    "api.ssl.enabled",
    "api.auth.type",
    "log.level",
    "log.format",
    "path.logs",
    "path.plugins",
    "allow_superuser",
    "pipeline.plugin_classloaders",
}
PIPELINE_SETTINGS = {
    "pipeline.id",
    "path.config",
    "config.string",
    "pipeline.workers",
    "pipeline.batch.size",
    "pipeline.batch.delay",
    "pipeline.ordered",
    "pipeline.ecs_compatibility",
    "queue.type",
    "queue.max_bytes",
    "queue.page_capacity",
    "queue.max_events",
    "path.queue",
    "dead_letter_queue.enable",
    "config.reload.automatic",
    "config.reload.interval",
    "pipeline.unsafe_shutdown",
}
LOG_LEVELS = {"fatal", "error", "warn", "info", "debug", "trace"}


def flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in (data or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def load_settings(settings_dir: str | None) -> dict:
    settings = {
        "node.name": socket.gethostname(),
        "path.data": "data",
        "path.logs": "logs",
        "api.http.host": "127.0.0.1",
        "api.http.port": 9600,
        "log.level": "info",
        "pipeline.workers": os.cpu_count() or 1,
        "pipeline.batch.size": 125,
        "pipeline.batch.delay": 50,
        "allow_superuser": False,
        "api.enabled": True,
    }
    if not settings_dir:
        return settings
    path = Path(settings_dir) / "logstash.yml"
    if not path.is_file():
        raise ConfigError(
            f'Failed to load settings file from "path.settings". '
            f"Aborting... path.setting={settings_dir}, exception=no {path}"
        )
    loaded = flatten(yaml.safe_load(path.read_text()) or {})
    for key in loaded:
        if key not in SETTINGS and not key.startswith("xpack."):
            raise ConfigError(
                f"Setting \"{key}\" doesn't exist. Please check if you haven't made a typo."
            )
    settings.update(loaded)
    if str(settings["log.level"]) not in LOG_LEVELS:
        raise ConfigError(f'Invalid value "{settings["log.level"]}" for setting log.level')
    return settings


def heap_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    if not match:
        raise ConfigError(f"Invalid heap size: {value}")
    return int(match[1]) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match[2].lower()]


def load_jvm_options(settings_dir: str | None) -> dict:
    path = os.environ.get("LS_JVM_OPTS") or (f"{settings_dir}/jvm.options" if settings_dir else "")
    heap = {"init": 1 << 30, "max": 1 << 30}
    if path and Path(path).is_file():
        for line in Path(path).read_text().splitlines():
            line = line.strip()
            if line.startswith("-Xms"):
                heap["init"] = heap_bytes(line[4:])
            elif line.startswith("-Xmx"):
                heap["max"] = heap_bytes(line[4:])
    if heap["init"] > heap["max"]:
        raise ConfigError("Initial heap size set to a larger value than the maximum heap size")
    return heap


# ---------------------------------------------------------------------------- pipeline DSL
TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<op>=>|==|!=|<=|>=|=~|!~|[{}\[\](),<>!])
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.-]))
  | (?P<bareword>[A-Za-z_@][\w.@-]*)
  | (?P<regex>/(?:\\.|[^/\\\n])*/)
""",
    re.X,
)


def tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        match = TOKEN_RE.match(text, pos)
        if not match:
            line = text.count("\n", 0, pos) + 1
            raise ConfigError(
                f'Expected one of [ \\t\\r\\n], "#", "{{", "}}" at line {line}, '
                f"column {pos - text.rfind(chr(10), 0, pos)} near {text[pos : pos + 20]!r}"
            )
        kind = match.lastgroup
        if kind != "ws":
            tokens.append((kind, match.group(), text.count("\n", 0, pos) + 1))
        pos = match.end()
    return tokens


def unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: m[1] if m[1] in "\"'\\" else "\\" + m[1], body)


class Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self, offset: int = 0):
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("eof", "", -1)

    def take(self, value: str | None = None, kind: str | None = None):
        token = self.peek()
        if (value is not None and token[1] != value) or (kind is not None and token[0] != kind):
            want = value or kind
            raise ConfigError(f"Expected {want!r} at line {token[2]}, got {token[1]!r}")
        self.pos += 1
        return token

    def config(self) -> dict:
        sections = {"input": [], "filter": [], "output": []}
        while self.peek()[0] != "eof":
            name = self.take(kind="bareword")[1]
            if name not in sections:
                raise ConfigError(
                    f'Expected one of [ \\t\\r\\n], "#", "input", "filter", "output" '
                    f"at line {self.peek(-1)[2]}, got {name!r}"
                )
            self.take("{")
            sections[name] += self.block(name)
        return sections

    def block(self, section: str) -> list:
        items = []
        while self.peek()[1] != "}":
            if self.peek()[0] == "eof":
                raise ConfigError("Unexpected end of configuration: a '}' is missing")
            if self.peek()[1] == "if":
                items.append(self.branch(section))
            else:
                items.append(self.plugin(section))
        self.take("}")
        return items

    def branch(self, section: str) -> dict:
        self.take("if")
        arms = [(self.condition(), self.sub_block(section))]
        otherwise = []
        while self.peek()[1] == "else":
            self.take("else")
            if self.peek()[1] == "if":
                self.take("if")
                arms.append((self.condition(), self.sub_block(section)))
            else:
                otherwise = self.sub_block(section)
                break
        return {"if": arms, "else": otherwise}

    def sub_block(self, section: str) -> list:
        self.take("{")
        return self.block(section)

    def condition(self) -> list:
        tokens, depth = [], 0
        while True:
            token = self.peek()
            if token[0] == "eof":
                raise ConfigError("Unexpected end of configuration in a condition")
            if token[1] == "{" and depth == 0:
                break
            depth += {"[": 1, "(": 1, "]": -1, ")": -1}.get(token[1], 0)
            tokens.append(token)
            self.pos += 1
        if not tokens:
            raise ConfigError(f"Empty condition at line {self.peek()[2]}")
        return tokens

    def plugin(self, section: str) -> dict:
        kind, name, line = self.peek()
        if kind not in ("bareword", "string"):
            raise ConfigError(f"Expected a plugin name at line {line}, got {name!r}")
        self.pos += 1
        name = unquote(name) if kind == "string" else name
        self.take("{")
        options = []
        while self.peek()[1] != "}":
            key_kind, key, key_line = self.peek()
            if key_kind not in ("bareword", "string"):
                raise ConfigError(
                    f"Expected a setting name in {name} at line {key_line}, got {key!r}"
                )
            self.pos += 1
            self.take("=>")
            options.append((unquote(key) if key_kind == "string" else key, self.value(), key_line))
        self.take("}")
        return {"plugin": name, "section": section, "options": options, "line": line}

    def value(self):
        kind, text, line = self.peek()
        if text == "[":
            self.take("[")
            values = []
            while self.peek()[1] != "]":
                values.append(self.value())
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("]")
            return values
        if text == "{":
            self.take("{")
            mapping = {}
            while self.peek()[1] != "}":
                key = self.value()
                self.take("=>")
                mapping[str(key)] = self.value()
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("}")
            return mapping
        self.pos += 1
        if kind == "string":
            return unquote(text)
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "bareword":
            return text
        raise ConfigError(f"Unexpected {text!r} at line {line}")


# ---------------------------------------------------------------------------- plugin schemas
COMMON = {
    "input": {"add_field", "codec", "enable_metric", "id", "tags", "type"},
    "filter": {
        "add_field",
        "add_tag",
        "enable_metric",
        "id",
        "periodic_flush",
        "remove_field",
        "remove_tag",
    },
    "output": {"codec", "enable_metric", "id"},
}
PLUGINS = {
    ("input", "beats"): {
        "add_hostname",
        "client_inactivity_timeout",
        "ecs_compatibility",
        "enrich",
        "event_loop_threads",
        "executor_threads",
        "host",
        "include_codec_tag",
        "port",
        "ssl_certificate",
        "ssl_certificate_authorities",
        "ssl_cipher_suites",
        "ssl_client_authentication",
        "ssl_enabled",
        "ssl_handshake_timeout",
        "ssl_key",
        "ssl_key_passphrase",
        "ssl_supported_protocols",
    },
    ("filter", "json"): {
        "ecs_compatibility",
        "skip_on_invalid_json",
        "source",
        "tag_on_failure",
        "target",
    },
    ("filter", "date"): {"locale", "match", "tag_on_failure", "target", "timezone"},
    ("filter", "mutate"): {
        "convert",
        "copy",
        "gsub",
        "join",
        "lowercase",
        "merge",
        "coerce",
        "rename",
        "replace",
        "split",
        "strip",
        "update",
        "uppercase",
        "capitalize",
        "tag_on_failure",
    },
    ("output", "elasticsearch"): {
        "action",
        "api_key",
        "bulk_path",
        "ca_trusted_fingerprint",
        "cloud_auth",
        "cloud_id",
        "compression_level",
        "custom_headers",
        "data_stream",
        "data_stream_auto_routing",
        "data_stream_dataset",
        "data_stream_namespace",
        "data_stream_sync_fields",
        "data_stream_type",
        "dlq_custom_codes",
        "dlq_on_failed_indexname_interpolation",
        "doc_as_upsert",
        "document_id",
        "document_type",
        "ecs_compatibility",
        "failure_type_logging_whitelist",
        "healthcheck_path",
        "hosts",
        "http_compression",
        "ilm_enabled",
        "ilm_pattern",
        "ilm_policy",
        "ilm_rollover_alias",
        "index",
        "silence_errors_in_log",
        "manage_template",
        "parameters",
        "parent",
        "password",
        "path",
        "pipeline",
        "pool_max",
        "pool_max_per_route",
        "proxy",
        "resurrect_delay",
        "retry_initial_interval",
        "retry_max_interval",
        "retry_on_conflict",
        "routing",
        "script",
        "script_lang",
        "script_type",
        "script_var_name",
        "scripted_upsert",
        "sniffing",
        "sniffing_delay",
        "sniffing_path",
        "ssl_certificate",
        "ssl_certificate_authorities",
        "ssl_cipher_suites",
        "ssl_enabled",
        "ssl_key",
        "ssl_keystore_password",
        "ssl_keystore_path",
        "ssl_keystore_type",
        "ssl_supported_protocols",
        "ssl_truststore_password",
        "ssl_truststore_path",
        "ssl_truststore_type",
        "ssl_verification_mode",
        "template",
        "template_api",
        "template_name",
        "template_overwrite",
        "timeout",
        "upsert",
        "user",
        "validate_after_inactivity",
        "version",
        "version_type",
    },
    ("output", "stdout"): set(),
}
OBSOLETE = {
    ("input", "beats"): {
        "ssl": "ssl_enabled",
        "ssl_verify_mode": "ssl_client_authentication",
        "ssl_peer_metadata": "enrich",
        "cipher_suites": "ssl_cipher_suites",
        "tls_min_version": "ssl_supported_protocols",
        "tls_max_version": "ssl_supported_protocols",
    },
    ("output", "elasticsearch"): {
        "ssl": "ssl_enabled",
        "cacert": "ssl_certificate_authorities",
        "ssl_certificate_verification": "ssl_verification_mode",
        "keystore": "ssl_keystore_path",
        "truststore": "ssl_truststore_path",
    },
}
REQUIRED = {("input", "beats"): ["port"], ("filter", "json"): ["source"]}
CHOICES = {
    "ssl_client_authentication": {"none", "optional", "required"},
    "ssl_verification_mode": {"full", "none"},
    "ecs_compatibility": {"disabled", "v1", "v8"},
    "data_stream": {"true", "false", "auto"},
    "ilm_enabled": {"true", "false", "auto"},
    "action": {"index", "create", "update", "delete"},
}
BOOLEANS = {
    "ssl_enabled",
    "skip_on_invalid_json",
    "manage_template",
    "template_overwrite",
    "sniffing",
    "http_compression",
    "enable_metric",
    "include_codec_tag",
    "add_hostname",
}
PATHS = {"ssl_certificate", "ssl_key", "ssl_certificate_authorities"}

ENV_RE = re.compile(r"\$\{(\w+)(?::([^}]*))?\}")


def substitute(value, plugin: str):
    if isinstance(value, str):

        def repl(match: re.Match) -> str:
            name, default = match[1], match[2]
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(
                f"Cannot evaluate `${{{name}}}`. Replacement variable `{name}` is not "
                f"defined in a Logstash secret store or an environment entry and "
                f"there is no default value given. (in {plugin})"
            )

        return ENV_RE.sub(repl, value)
    if isinstance(value, list):
        return [substitute(v, plugin) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, plugin) for k, v in value.items()}
    return value


def plugins_of(items: list):
    for item in items:
        if "plugin" in item:
            yield item
        else:
            for _, body in item["if"]:
                yield from plugins_of(body)
            yield from plugins_of(item["else"])


def validate(config: dict) -> None:
    for section, items in config.items():
        for plugin in plugins_of(items):
            key = (section, plugin["plugin"])
            name = plugin["plugin"]
            if key not in PLUGINS:
                raise ConfigError(
                    f"Couldn't find any {section} plugin named '{name}'. Are you sure this is "
                    f"correct? Trying to load the {name} {section} plugin resulted in this "
                    f"error: Unable to load the requested plugin named {name} of type "
                    f"{section}. The plugin is not installed."
                )
            allowed = PLUGINS[key] | COMMON[section]
            options = {}
            for option, value, line in plugin["options"]:
                if option in OBSOLETE.get(key, {}):
                    raise ConfigError(
                        f"The setting `{option}` in plugin `{name}` is obsolete and is no "
                        f"longer available. Use '{OBSOLETE[key][option]}' instead. (line {line})"
                    )
                if option not in allowed:
                    raise ConfigError(f"Unknown setting '{option}' for {name} (line {line})")
                if option in options:
                    raise ConfigError(f"Duplicate setting '{option}' for {name} (line {line})")
                value = substitute(value, name)
                if option in BOOLEANS and str(value).lower() not in ("true", "false"):
                    raise ConfigError(
                        f"Invalid setting for {name} filter plugin: {option} "
                        f"expected boolean, got {value!r}"
                    )
                if option in CHOICES and str(value) not in CHOICES[option]:
                    raise ConfigError(
                        f"Invalid setting for {name} plugin: {option} must be one of "
                        f"{sorted(CHOICES[option])}, got {value!r}"
                    )
                if option in PATHS:
                    for path in value if isinstance(value, list) else [value]:
                        if not os.path.exists(str(path)):
                            raise ConfigError(
                                f"Invalid setting for {name} plugin: {option} "
                                f"File does not exist or cannot be opened {path}"
                            )
                options[option] = value
            for option in REQUIRED.get(key, []):
                if option not in options:
                    raise ConfigError(
                        f"Missing a required setting for the {name} {section} plugin: "
                        f"{section} {{ {name} {{ {option} => # SETTING MISSING }} }}"
                    )
            if (
                key == ("input", "beats")
                and str(options.get("ssl_enabled", "false")).lower() == "true"
            ):
                if "ssl_certificate" not in options or "ssl_key" not in options:
                    raise ConfigError(
                        "beats: ssl_certificate and ssl_key are required when ssl_enabled => true"
                    )
                if options.get("ssl_client_authentication", "none") != "none" and not options.get(
                    "ssl_certificate_authorities"
                ):
                    raise ConfigError(
                        "beats: ssl_certificate_authorities must be set when "
                        "ssl_client_authentication is optional or required"
                    )
            if key == ("filter", "date"):
                match = options.get("match")
                if not isinstance(match, list) or len(match) < 2:
                    raise ConfigError(
                        "date: match must be an array of a field name and at least one format"
                    )
            plugin["config"] = options


def load_pipeline_text(path_config: str | None, config_string: str | None) -> str:
    if config_string:
        return config_string
    files = sorted(p for p in glob.glob(path_config or "") if os.path.isfile(p))
    if not files and path_config and os.path.isdir(path_config):
        files = sorted(str(p) for p in Path(path_config).iterdir() if p.is_file())
    if not files:
        raise ConfigError(f'No config files found in path {{:path=>"{path_config}"}}')
    return "\n".join(Path(f).read_text() for f in files)


def compile_pipeline(text: str) -> dict:
    config = Parser(text).config()
    validate(config)
    if not config["input"]:
        raise ConfigError("Pipeline has no inputs")
    return config


# ---------------------------------------------------------------------------- events
def field_path(ref: str) -> list[str]:
    ref = ref.strip()
    if ref.startswith("["):
        return re.findall(r"\[([^\]]+)\]", ref)
    return [ref]


def get_field(event: dict, ref: str):
    node = event
    for part in field_path(ref):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_field(event: dict, ref: str, value) -> None:
    parts = field_path(ref)
    node = event
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def remove_field(event: dict, ref: str):
    parts = field_path(ref)
    node = event
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node.pop(parts[-1], None) if isinstance(node, dict) else None


def event_time(event: dict) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(event.get("@timestamp")).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.now(dt.UTC)


def joda(pattern: str, when: dt.datetime) -> str:
    table = {"yyyy": "%Y", "YYYY": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
    return when.astimezone(dt.UTC).strftime(
        re.sub("yyyy|YYYY|MM|dd|HH|mm|ss", lambda m: table[m[0]], pattern)
    )


def sprintf(template: str, event: dict) -> str:
    def repl(match: re.Match) -> str:
        ref = match[1]
        if ref.startswith("+"):
            return joda(ref[1:], event_time(event))
        value = get_field(event, ref)
        return (
            match[0]
            if value is None
            else (json.dumps(value) if isinstance(value, (dict, list)) else str(value))
        )

    return re.sub(r"%\{([^}]+)\}", repl, str(template))


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def add_tags(event: dict, tags) -> None:
    existing = event.setdefault("tags", [])
    if not isinstance(existing, list):
        existing = event["tags"] = [existing]
    for tag in as_list(tags):
        tag = sprintf(tag, event)
        if tag not in existing:
            existing.append(tag)


def apply_common(event: dict, options: dict) -> None:
    for key, value in (options.get("add_field") or {}).items():
        set_field(event, sprintf(key, event), sprintf(value, event))
    if "add_tag" in options:
        add_tags(event, options["add_tag"])
    for ref in as_list(options.get("remove_field") or []):
        remove_field(event, sprintf(ref, event))
    if options.get("remove_tag") and isinstance(event.get("tags"), list):
        drop = {sprintf(t, event) for t in as_list(options["remove_tag"])}
        event["tags"] = [t for t in event["tags"] if t not in drop]


def parse_date(value, formats: list[str], timezone: str | None):
    text = str(value)
    for fmt in formats:
        try:
            if fmt == "ISO8601":
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            elif fmt == "UNIX":
                parsed = dt.datetime.fromtimestamp(float(text), dt.UTC)
            elif fmt == "UNIX_MS":
                parsed = dt.datetime.fromtimestamp(float(text) / 1000, dt.UTC)
            else:
                joda_table = {
                    "yyyy": "%Y",
                    "MM": "%m",
                    "dd": "%d",
                    "HH": "%H",
                    "mm": "%M",
                    "ss": "%S",
                    "SSS": "%f",
                    "Z": "%z",
                    "MMM": "%b",
                }
                strp = re.sub("yyyy|MMM|MM|dd|HH|mm|ss|SSS|Z", lambda m, t=joda_table: t[m[0]], fmt)
                parsed = dt.datetime.strptime(text, strp)
        except (ValueError, OverflowError):
            continue
        if parsed.tzinfo is None:
            # The role's timestamps carry an offset; naive ones are read as UTC.
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed
    return None


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_filter(plugin: dict, event: dict) -> None:
    name, options = plugin["plugin"], plugin["config"]
    if name == "json":
        raw = get_field(event, options["source"])
        if raw is None:
            return
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError):
            if str(options.get("skip_on_invalid_json", "false")).lower() != "true":
                add_tags(event, options.get("tag_on_failure", ["_jsonparsefailure"]))
            return
        if options.get("target"):
            set_field(event, options["target"], parsed)
        elif isinstance(parsed, dict):
            for key, value in parsed.items():
                event[key] = value
        else:
            add_tags(event, options.get("tag_on_failure", ["_jsonparsefailure"]))
            return
        apply_common(event, options)
    elif name == "date":
        match = as_list(options["match"])
        value = get_field(event, match[0])
        if value is None:
            return
        parsed = parse_date(value, match[1:], options.get("timezone"))
        if parsed is None:
            add_tags(event, options.get("tag_on_failure", ["_dateparsefailure"]))
            return
        set_field(event, options.get("target", "@timestamp"), iso(parsed))
        apply_common(event, options)
    elif name == "mutate":
        for src, dest in (options.get("rename") or {}).items():
            if get_field(event, src) is not None:
                set_field(event, dest, remove_field(event, src))
        for ref, value in (options.get("update") or {}).items():
            if get_field(event, ref) is not None:
                set_field(event, ref, sprintf(value, event))
        for ref, value in (options.get("replace") or {}).items():
            set_field(event, ref, sprintf(value, event))
        for ref, kind in (options.get("convert") or {}).items():
            value = get_field(event, ref)
            if value is not None:
                with contextlib.suppress(ValueError):
                    set_field(
                        event,
                        ref,
                        {
                            "integer": int,
                            "float": float,
                            "string": str,
                            "boolean": lambda v: str(v).lower() == "true",
                        }[kind](value),
                    )
        for op, func in (
            ("uppercase", str.upper),
            ("lowercase", str.lower),
            ("strip", str.strip),
            ("capitalize", str.capitalize),
        ):
            for ref in as_list(options.get(op) or []):
                value = get_field(event, ref)
                if isinstance(value, str):
                    set_field(event, ref, func(value))
        for src, dest in (options.get("copy") or {}).items():
            value = get_field(event, src)
            if value is not None:
                set_field(event, dest, json.loads(json.dumps(value)))
        apply_common(event, options)


def cond_eval(tokens: list, event: dict) -> bool:
    """Evaluate a condition: comparisons joined by and/or, with ! and parentheses."""
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else ("eof", "", -1)

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def rvalue():
        kind, text, _ = take()
        if text == "[":
            if peek()[0] in ("bareword", "string", "number") and tokens[pos + 1][1] == "]":
                ref = f"[{peek()[1]}]"
                take()
                take()
                while peek()[1] == "[":
                    take()
                    ref += f"[{take()[1]}]"
                    take()
                return ("field", ref)
            values = []
            while peek()[1] != "]":
                values.append(rvalue()[1])
                if peek()[1] == ",":
                    take()
            take()
            return ("list", values)
        if kind == "string":
            return ("value", unquote(text))
        if kind == "number":
            return ("value", float(text))
        if kind == "regex":
            return ("regex", text[1:-1])
        return ("value", text)

    def resolve(item):
        return get_field(event, item[1]) if item[0] == "field" else item[1]

    def comparison() -> bool:
        if peek()[1] == "!":
            take()
            return not comparison()
        if peek()[1] == "(":
            take()
            result = disjunction()
            take()
            return result
        left = rvalue()
        op = peek()[1]
        if op == "not" and tokens[pos + 1][1] == "in":
            take()
            take()
            return not contains(resolve(rvalue()), resolve(left))
        if op in ("==", "!=", "<", ">", "<=", ">=", "=~", "!~", "in"):
            take()
            right = rvalue()
            a, b = resolve(left), resolve(right)
            if op == "in":
                return contains(b, a)
            if op in ("=~", "!~"):
                found = a is not None and re.search(str(b), str(a)) is not None
                return found if op == "=~" else not found
            if op in ("==", "!="):
                equal = a == b or (a is not None and b is not None and str(a) == str(b))
                return equal if op == "==" else not equal
            try:
                return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
            except TypeError:
                return False
        return bool(resolve(left))

    def contains(haystack, needle) -> bool:
        if isinstance(haystack, list):
            return needle in haystack
        return haystack is not None and needle is not None and str(needle) in str(haystack)

    def conjunction() -> bool:
        result = comparison()
        while peek()[1] == "and":
            take()
            right = comparison()
            result = result and right
        return result

    def disjunction() -> bool:
        result = conjunction()
        while peek()[1] in ("or", "xor", "nand"):
            op = take()[1]
            right = conjunction()
            result = {
                "or": result or right,
                "xor": result != right,
                "nand": not (result and right),
            }[op]
        return result

    return disjunction()


def run_filters(items: list, event: dict) -> None:
    for item in items:
        if "plugin" in item:
            run_filter(item, event)
            continue
        for condition, body in item["if"]:
            if cond_eval(condition, event):
                run_filters(body, event)
                break
        else:
            run_filters(item["else"], event)


def outputs_for(items: list, event: dict) -> list:
    chosen = []
    for item in items:
        if "plugin" in item:
            chosen.append(item)
            continue
        for condition, body in item["if"]:
            if cond_eval(condition, event):
                chosen += outputs_for(body, event)
                break
        else:
            chosen += outputs_for(item["else"], event)
    return chosen


# ---------------------------------------------------------------------------- runtime
class Node:
    def __init__(self, settings: dict, heap: dict, pipelines: dict[str, dict]):
        self.settings = settings
        self.heap = heap
        self.pipelines = pipelines
        self.lock = threading.Lock()
        self.stats = {"in": 0, "filtered": 0, "out": 0}
        self.started = time.time()
        data = Path(settings["path.data"])
        (data / "standin").mkdir(parents=True, exist_ok=True)
        uuid_file = data / "uuid"
        if not uuid_file.exists():
            uuid_file.write_text(str(uuid.uuid4()))
        self.id = uuid_file.read_text().strip()
        self.ephemeral_id = str(uuid.uuid4())
        self.events_file = data / "standin" / "events.ndjson"
        self.bulk: queue.Queue = queue.Queue()
        log_dir = Path(settings["path.logs"])
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_file = (log_dir / "logstash-plain.log").open("a", buffering=1)

    def log(self, level: str, logger: str, message: str) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S,%f")[:-3]
        line = f"[{stamp}][{level.upper():5}][{logger}] {message}"
        print(line, flush=True)
        self.log_file.write(line + "\n")

    # -- API
    def base(self) -> dict:
        port = self.settings["api.http.port"]
        return {
            "host": socket.gethostname(),
            "version": VERSION,
            "http_address": f"{self.settings['api.http.host']}:{port}",
            "id": self.id,
            "name": self.settings["node.name"],
            "ephemeral_id": self.ephemeral_id,
            "snapshot": False,
            "status": "green",
            "pipeline": {
                "workers": self.settings["pipeline.workers"],
                "batch_size": self.settings["pipeline.batch.size"],
                "batch_delay": self.settings["pipeline.batch.delay"],
            },
            "build_date": "2026-01-01T00:00:00Z",
            "build_sha": "standin",
            "build_snapshot": False,
            "standin": STANDIN,
        }

    def api(self, path: str):
        path = path.split("?")[0].rstrip("/") or "/"
        body = self.base()
        if path == "/":
            return 200, body
        if path == "/_node/pipelines":
            body["pipelines"] = {
                pid: {
                    "ephemeral_id": self.ephemeral_id,
                    "hash": p["hash"],
                    "workers": p["workers"],
                    "batch_size": self.settings["pipeline.batch.size"],
                    "batch_delay": self.settings["pipeline.batch.delay"],
                    "config_reload_automatic": False,
                    "config_reload_interval": 3000000000,
                    "dead_letter_queue_enabled": False,
                    "graph": {
                        "vertices": [
                            {
                                "config_name": pl["plugin"],
                                "type": s,
                                "id": pl.get("config", {}).get("id", f"{s}-{pl['plugin']}"),
                            }
                            for s in ("input", "filter", "output")
                            for pl in plugins_of(p["config"][s])
                        ]
                    },
                }
                for pid, p in self.pipelines.items()
            }
            return 200, body
        if path == "/_node/jvm":
            body["jvm"] = {
                "pid": os.getpid(),
                "version": "stand-in",
                "vm_name": STANDIN,
                "start_time_in_millis": int(self.started * 1000),
                "mem": {
                    "heap_init_in_bytes": self.heap["init"],
                    "heap_max_in_bytes": self.heap["max"],
                    "non_heap_init_in_bytes": 0,
                    "non_heap_max_in_bytes": 0,
                },
            }
            return 200, body
        if path in ("/_node/stats", "/_node/stats/events"):
            with self.lock:
                body["events"] = dict(
                    self.stats, duration_in_millis=0, queue_push_duration_in_millis=0
                )
            return 200, body
        if path == "/_health_report":
            body["indicators"] = {
                "pipelines": {
                    "status": "green",
                    "indicators": {
                        pid: {"status": "green", "symptom": "The pipeline is healthy"}
                        for pid in self.pipelines
                    },
                }
            }
            return 200, body
        return 404, {"path": path, "status": 404, "error": {"message": "Not Found"}}

    # -- events
    def process(self, pipeline: dict, event: dict) -> None:
        with self.lock:
            self.stats["in"] += 1
            run_filters(pipeline["config"]["filter"], event)
            self.stats["filtered"] += 1
            for output in outputs_for(pipeline["config"]["output"], event):
                self.emit(output, event)
            self.stats["out"] += 1

    def emit(self, output: dict, event: dict) -> None:
        options = output["config"]
        source = {k: v for k, v in event.items() if k != "@metadata"}
        if output["plugin"] == "stdout":
            print(json.dumps(source), flush=True)
            return
        index = sprintf(options.get("index", "logstash-%{+yyyy.MM.dd}"), event)
        record = {
            "_index": index,
            "_source": source,
            "_standin": {
                "tls_peer": event.get("@metadata", {}).get("tls_peer", {}),
                "peer_address": event.get("@metadata", {}).get("ip_address"),
            },
        }
        with self.events_file.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        self.bulk.put((options, index, source))

    def bulk_sender(self) -> None:
        """Send the queued events in bulk requests: what has queued up since the last
        request, up to BULK_BATCH_SIZE events (upstream's pipeline.batch.size), one
        request per output; each output's TLS context is built once."""
        contexts: dict[tuple, ssl.SSLContext] = {}
        while True:
            batch = [self.bulk.get()]
            with contextlib.suppress(queue.Empty):
                while len(batch) < BULK_BATCH_SIZE:
                    batch.append(self.bulk.get_nowait())
            by_output: dict[int, list] = {}
            for options, index, source in batch:
                by_output.setdefault(id(options), []).append((options, index, source))
            for events in by_output.values():
                options = events[0][0]
                body = "".join(
                    json.dumps({"index": {"_index": index}}) + "\n" + json.dumps(source) + "\n"
                    for _options, index, source in events
                )
                cas = as_list(options.get("ssl_certificate_authorities") or [])
                verification = options.get("ssl_verification_mode")
                key = (cas[0] if cas else None, verification)
                if key not in contexts:
                    context = ssl.create_default_context(cafile=key[0])
                    if verification == "none":
                        context.check_hostname = False
                        context.verify_mode = ssl.CERT_NONE
                    contexts[key] = context
                self.send_bulk(options, body, contexts[key])

    def send_bulk(self, options: dict, body: str, context: ssl.SSLContext) -> None:
        headers = {"Content-Type": "application/x-ndjson"}
        if options.get("user"):
            token = base64.b64encode(
                f"{options['user']}:{options.get('password', '')}".encode()
            ).decode()
            headers["Authorization"] = f"Basic {token}"
        for host in as_list(options.get("hosts") or ["http://127.0.0.1:9200"]):
            url = str(host).rstrip("/") + "/_bulk"
            if not url.startswith(("http://", "https://")):
                url = (
                    "https://"
                    if str(options.get("ssl_enabled")).lower() == "true"
                    else "http://"
                ) + url
            for _attempt in range(3):
                try:
                    request = urllib.request.Request(
                        url, data=body.encode(), headers=headers, method="POST"
                    )
                    with urllib.request.urlopen(request, timeout=5, context=context) as response:
                        response.read()
                    return
                except Exception as error:  # noqa: BLE001  logged, like upstream's retry warnings
                    self.log(
                        "warn",
                        "logstash.outputs.elasticsearch",
                        f"Attempted to send a bulk request but Elasticsearch appears to be "
                        f'unreachable or down {{:url=>"{url}", :message=>"{error}"}}',
                    )
                    time.sleep(1)

    # -- beats input
    def serve_beats(self, pipeline: dict, plugin: dict) -> None:
        options = plugin["config"]
        host, port = str(options.get("host", "0.0.0.0")), int(options["port"])  # noqa: S104  upstream default
        context = None
        if str(options.get("ssl_enabled", "false")).lower() == "true":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(
                options["ssl_certificate"],
                options["ssl_key"],
                password=options.get("ssl_key_passphrase"),
            )
            mode = options.get("ssl_client_authentication", "none")
            if mode != "none":
                for ca in as_list(options["ssl_certificate_authorities"]):
                    context.load_verify_locations(cafile=ca)
                context.verify_mode = ssl.CERT_REQUIRED if mode == "required" else ssl.CERT_OPTIONAL
        server = socket.create_server((host, port), reuse_port=False)
        self.log(
            "info",
            "logstash.inputs.beats",
            f'Starting input listener {{:address=>"{host}:{port}"}} tls={context is not None}',
        )
        while True:
            conn, address = server.accept()
            threading.Thread(
                target=self.beats_connection, args=(pipeline, conn, address, context), daemon=True
            ).start()

    def beats_connection(self, pipeline: dict, conn: socket.socket, address, context) -> None:
        peer = {"status": "unverified"}
        try:
            if context is not None:
                conn.settimeout(10)
                conn = context.wrap_socket(conn, server_side=True)
                cert = conn.getpeercert()
                if cert:
                    subject = ",".join(
                        f"{k}={v}" for rdn in cert.get("subject", ()) for k, v in rdn
                    )
                    peer = {
                        "status": "verified",
                        "protocol": conn.version(),
                        "subject": subject,
                        "cipher_suite": conn.cipher()[0],
                    }
            conn.settimeout(60)
            reader = conn.makefile("rb")
            window, seen = 0, 0
            while True:
                frames = read_frames(reader)
                if frames is None:
                    return
                for kind, seq, payload in frames:
                    if kind == "W":
                        window, seen = seq, 0
                        continue
                    event = payload
                    event.setdefault("@metadata", {})
                    event["@metadata"]["tls_peer"] = peer
                    event["@metadata"]["ip_address"] = address[0]
                    event.setdefault("@timestamp", iso(dt.datetime.now(dt.UTC)))
                    add_tags(event, "beats_input_codec_plain_applied")
                    self.process(pipeline, event)
                    seen += 1
                    if seen >= window or seq >= window:
                        conn.sendall(b"2A" + struct.pack(">I", seq))
        except (OSError, ssl.SSLError, ValueError, struct.error) as error:
            self.log(
                "info",
                "org.logstash.beats.BeatsHandler",
                f"[local: -, remote: {address[0]}] Handling exception: {error}",
            )
        finally:
            with contextlib.suppress(OSError):
                conn.close()


def read_exact(reader, size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise EOFError
    return data


def parse_frames(reader, out: list) -> bool:
    """Read one frame from ``reader`` into ``out``; False at a clean end of stream."""
    head = reader.read(2)
    if not head:
        return False
    if len(head) != 2 or head[:1] not in (b"1", b"2"):
        raise ValueError(f"Invalid version of beats protocol: {head[:1]!r}")
    kind = head[1:2]
    if kind == b"W":
        out.append(("W", struct.unpack(">I", read_exact(reader, 4))[0], None))
    elif kind == b"J":
        seq, size = struct.unpack(">II", read_exact(reader, 8))
        out.append(("J", seq, json.loads(read_exact(reader, size))))
    elif kind == b"D":
        seq, pairs = struct.unpack(">II", read_exact(reader, 8))
        event = {}
        for _ in range(pairs):
            key = read_exact(reader, struct.unpack(">I", read_exact(reader, 4))[0]).decode()
            event[key] = read_exact(reader, struct.unpack(">I", read_exact(reader, 4))[0]).decode()
        out.append(("D", seq, event))
    elif kind == b"C":
        size = struct.unpack(">I", read_exact(reader, 4))[0]
        inner = _Buffer(zlib.decompress(read_exact(reader, size)))
        while parse_frames(inner, out):
            pass
    else:
        raise ValueError(f"Unknown frame type {kind!r}")
    return True


class _Buffer:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def read(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk


def read_frames(reader) -> list | None:
    out: list = []
    try:
        if not parse_frames(reader, out):
            return None
    except EOFError:
        return None
    return out


class ApiHandler(BaseHTTPRequestHandler):
    node: Node

    def do_GET(self) -> None:
        status, body = self.node.api(self.path)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:
        return


# ---------------------------------------------------------------------------- command line
FLAGS_WITH_VALUE = {
    "-f": "path.config",
    "--path.config": "path.config",
    "-e": "config.string",
    "--config.string": "config.string",
    "--path.settings": "path.settings",
    "--path.data": "path.data",
    "--path.logs": "path.logs",
    "--log.level": "log.level",
    "--api.http.host": "api.http.host",
    "--api.http.port": "api.http.port",
    "-l": "path.logs",
    "--node.name": "node.name",
    "-n": "node.name",
}
FLAGS = {
    "-t": "config.test_and_exit",
    "--config.test_and_exit": "config.test_and_exit",
    "-V": "version",
    "--version": "version",
}


def parse_args(argv: list[str]) -> dict:
    args: dict = {}
    it = iter(argv)
    for arg in it:
        name, _, inline = arg.partition("=")
        if name in FLAGS_WITH_VALUE:
            value = inline if inline else next(it, None)
            if value is None:
                raise ConfigError(f"option '{name}' needs an argument")
            args[FLAGS_WITH_VALUE[name]] = value
        elif name in FLAGS:
            args[FLAGS[name]] = True
        else:
            raise ConfigError(
                f"ERROR: Unrecognised option '{arg}'\n\nFor more information, try --help"
            )
    return args


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
        if args.get("version"):
            print(STANDIN)
            return 0
        settings = load_settings(args.get("path.settings"))
        for key in (
            "path.data",
            "path.logs",
            "log.level",
            "api.http.host",
            "api.http.port",
            "node.name",
        ):
            if key in args:
                settings[key] = args[key]
        settings["api.http.port"] = int(settings["api.http.port"])
        if os.geteuid() == 0 and str(settings.get("allow_superuser")).lower() != "true":
            raise ConfigError("Logstash cannot be run as superuser.")
        heap = load_jvm_options(args.get("path.settings"))
        if args.get("path.config") or args.get("config.string"):
            specs = [
                {
                    "pipeline.id": "main",
                    "path.config": args.get("path.config"),
                    "config.string": args.get("config.string"),
                }
            ]
        else:
            pipelines_file = Path(args.get("path.settings") or ".") / "pipelines.yml"
            if not pipelines_file.is_file():
                raise ConfigError(
                    f"No configuration found in the configured sources ({pipelines_file})"
                )
            specs = yaml.safe_load(pipelines_file.read_text()) or []
            for spec in specs:
                unknown = sorted(set(spec) - PIPELINE_SETTINGS)
                if unknown:
                    raise ConfigError(
                        f"pipelines.yml: unknown settings {unknown} in pipeline "
                        f"{spec.get('pipeline.id')}"
                    )
        pipelines = {}
        for spec in specs:
            text = load_pipeline_text(spec.get("path.config"), spec.get("config.string"))
            pipelines[str(spec.get("pipeline.id", "main"))] = {
                "config": compile_pipeline(text),
                "hash": str(zlib.crc32(text.encode())),
                "workers": spec.get("pipeline.workers", settings["pipeline.workers"]),
            }
    except (ConfigError, yaml.YAMLError, OSError) as error:
        print(f"[FATAL][logstash.runner] {STANDIN}: {error}", file=sys.stderr)
        if args_test_mode(argv):
            print("Configuration ERROR", file=sys.stderr)
        return 1
    if args.get("config.test_and_exit"):
        print(
            f"[INFO ][logstash.runner] {STANDIN}: Using config.test_and_exit mode. "
            "Config Validation Result: OK. Exiting Logstash"
        )
        print("Configuration OK")
        return 0
    node = Node(settings, heap, pipelines)
    node.log(
        "info",
        "logstash.runner",
        f'Starting Logstash {{"logstash.version"=>"{VERSION}"}} '
        f"-- this is the flaskfleet test STAND-IN, not Logstash",
    )
    threading.Thread(target=node.bulk_sender, daemon=True).start()
    for pipeline in pipelines.values():
        for plugin in plugins_of(pipeline["config"]["input"]):
            threading.Thread(target=node.serve_beats, args=(pipeline, plugin), daemon=True).start()
    ApiHandler.node = node
    if str(settings.get("api.enabled", True)).lower() == "true":
        server = ThreadingHTTPServer(
            (settings["api.http.host"], settings["api.http.port"]), ApiHandler
        )
        node.log(
            "info",
            "logstash.agent",
            f"Successfully started Logstash API endpoint {{:port=>{settings['api.http.port']}}}"
            " (stand-in)",
        )
        running = list(pipelines)
        node.log(
            "info",
            "logstash.agent",
            f"Pipelines running {{:count=>{len(pipelines)}, :running_pipelines=>{running}}}",
        )
        server.serve_forever()
    while True:
        time.sleep(3600)


def args_test_mode(argv: list[str]) -> bool:
    return "-t" in argv or "--config.test_and_exit" in argv


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
