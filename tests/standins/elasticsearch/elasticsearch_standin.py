#!/usr/bin/env python3
"""Elasticsearch STAND-IN (tests only; not Elasticsearch).

Packed by tests/mirror/build.py as ``bin/elasticsearch`` and ``bin/elasticsearch-keystore``
of ``elasticsearch-<v>-linux-x86_64.tar.gz``, so the elasticsearch role's Molecule scenario
can run on machines that cannot download the real release. It behaves like the real
program where the role and its tests look:

Command line (upstream: "elasticsearch command line options" and
https://www.elastic.co/docs/deploy-manage/deploy/self-managed/install-elasticsearch-from-archive-on-linux-macos):
  ``bin/elasticsearch [-p|--pidfile FILE] [-q|--quiet] [-d|--daemonize] [-s|--silent]
  [-v|--verbose] [-E key=value]... [-V|--version] [-h|--help]``; the configuration
  directory comes from ``ES_PATH_CONF`` (default ``$ES_HOME/config``). Unknown flags exit 64
  (usage), as upstream's CLI does.
  ``bin/elasticsearch-keystore create|list|add [-f] [-x|--stdin] SETTING|remove SETTING|show
  SETTING``
  (upstream: https://www.elastic.co/docs/reference/elasticsearch/command-line-tools/elasticsearch-keystore).
  The stand-in's keystore file is JSON, not upstream's encrypted format.

Configuration read at start (refused with exit 78 and upstream's wording, as the real node does):
  * ``$ES_PATH_CONF/elasticsearch.yml``: nested or dotted keys; every key must be in
    ``KNOWN_SETTINGS`` (the settings the role writes, names from
    https://www.elastic.co/docs/reference/elasticsearch/configuration-reference/ : node
    settings, networking, discovery and cluster formation, security and security SSL
    settings, path settings, bootstrap.memory_lock); anything else fails with
    "unknown setting [x]".
  * ``$ES_PATH_CONF/jvm.options`` (required) and ``jvm.options.d/*.options``: the upstream line
    format (``-Xopt``, ``N:-Xopt``, ``N-:-Xopt``, ``N-M:-Xopt``, ``#`` comments,
    https://www.elastic.co/docs/reference/elasticsearch/jvm-settings); ``-Xms`` must equal ``-Xmx``
    (upstream bootstrap check). ``log4j2.properties`` must exist.
  * ``bootstrap.password`` from the keystore is the ``elastic`` user's password until one is
    set through the API (upstream's bootstrap password).
  * TLS certificate, key and CA files must exist inside ``ES_PATH_CONF`` (upstream reads SSL
    files only from the config directory).
  * It refuses to run as root ("can not run elasticsearch as root").

REST subset served on ``http.port`` (HTTPS when ``xpack.security.http.ssl.enabled``), with
HTTP basic authentication enforced (anonymous and wrong passwords get upstream's 401
``security_exception``; missing privileges 403):
  ``GET /``, ``GET /_cluster/health``, ``GET /_security/_authenticate``,
  ``PUT|POST /_security/user/<name>/_password``, ``GET|PUT|POST|DELETE /_security/user[/<name>]``,
  ``GET|PUT|POST|DELETE /_security/role[/<name>]``, ``GET|PUT|DELETE /_ilm/policy[/<name>]``,
  ``GET|PUT|DELETE /_index_template[/<name>]``, ``POST /<index>/_doc``,
  ``PUT|POST /<index>/_doc/<id>``,
  ``POST [/<index>]/_bulk``, ``GET|POST [/<index>]/_search``, ``GET|POST [/<index>]/_count``,
  ``GET /<target>/_settings``, ``POST /<index>/_refresh``, ``DELETE /<index>[,<index>...]``.
  Response shapes follow https://www.elastic.co/docs/api/doc/elasticsearch/ . Documents live
  in memory; users, roles, ILM policies, templates and the index list persist in
  ``path.data/_state``. The transport port only accepts TLS connections and closes them (no
  clustering).
  Index targets (``_settings``, ``DELETE``) are comma-separated names or ``*`` patterns, as
  upstream resolves them under security: a wildcard expands only to the indices the user may
  act on (none: ``{}`` for ``_settings``), a concrete name the user may not act on is a 403,
  a missing concrete name a 404 ``index_not_found_exception``. ``GET _settings`` needs the
  index privilege ``view_index_metadata``, ``monitor``, ``manage`` or ``all``;
  ``DELETE /<index>`` needs ``delete_index``, ``manage`` or ``all`` (upstream: "delete_index
  or manage index privilege") and, while ``action.destructive_requires_name`` is true (the
  default since 8.0), refuses wildcards and ``_all`` with upstream's 400 "Wildcard
  expressions or all indices are not allowed". It answers ``{"acknowledged": true}``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import fnmatch
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

HOME = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HOME / "lib" / "python"))

VERSION = "9.5.7"
BANNER = (
    f"elasticsearch STAND-IN {VERSION} (tests/standins/elasticsearch; not Elasticsearch, "
    "a test double for offline Molecule scenarios)"
)
EX_USAGE, EX_CONFIG = 64, 78
ANY = "0.0.0.0"  # noqa: S104  upstream's network.host value for every interface

# Settings the stand-in accepts in elasticsearch.yml (upstream names; see the docstring).
KNOWN_SETTINGS = {
    "cluster.name",
    "node.name",
    "node.roles",
    "node.attr.*",
    "path.data",
    "path.logs",
    "path.repo",
    "network.host",
    "network.bind_host",
    "network.publish_host",
    "http.port",
    "http.host",
    "http.publish_host",
    "http.max_content_length",
    "transport.port",
    "transport.host",
    "discovery.seed_hosts",
    "discovery.type",
    "cluster.initial_master_nodes",
    "bootstrap.memory_lock",
    "action.destructive_requires_name",
    "cluster.routing.allocation.disk.watermark.low",
    "cluster.routing.allocation.disk.watermark.high",
    "cluster.routing.allocation.disk.watermark.flood_stage",
    "ingest.geoip.downloader.enabled",
    "xpack.security.enabled",
    "xpack.security.enrollment.enabled",
    "xpack.security.autoconfiguration.enabled",
    "xpack.ml.enabled",
    "xpack.monitoring.collection.enabled",
}
for _layer in ("http", "transport"):
    KNOWN_SETTINGS |= {
        f"xpack.security.{_layer}.ssl.{name}"
        for name in (
            "enabled",
            "key",
            "certificate",
            "certificate_authorities",
            "verification_mode",
            "client_authentication",
            "supported_protocols",
            "cipher_suites",
            "key_passphrase",
        )
    }
KEYSTORE_SETTINGS = {
    "keystore.seed",
    "bootstrap.password",
    "xpack.security.http.ssl.secure_key_passphrase",
    "xpack.security.transport.ssl.secure_key_passphrase",
}

CLUSTER_PRIVILEGES = {
    "all",
    "monitor",
    "manage",
    "manage_security",
    "manage_ilm",
    "read_ilm",
    "manage_index_templates",
    "manage_ingest_pipelines",
    "manage_pipeline",
    "manage_own_api_key",
    "manage_api_key",
    "monitor_ml",
    "read_security",
    "transport_client",
    "none",
}
INDEX_PRIVILEGES = {
    "all",
    "read",
    "write",
    "create",
    "create_doc",
    "create_index",
    "index",
    "delete",
    "delete_index",
    "manage",
    "manage_ilm",
    "monitor",
    "view_index_metadata",
    "auto_configure",
    "maintenance",
    "read_cross_cluster",
    "none",
}
WRITE_PRIVS = {"create_doc", "create", "index", "write", "all"}
CREATE_INDEX_PRIVS = {"create_index", "auto_configure", "manage", "all"}
READ_PRIVS = {"read", "all"}
VIEW_METADATA_PRIVS = {"view_index_metadata", "monitor", "manage", "all"}
DELETE_INDEX_PRIVS = {"delete_index", "manage", "all"}
RESERVED_ROLES = {
    "superuser": {
        "cluster": ["all"],
        "indices": [{"names": ["*"], "privileges": ["all"], "allow_restricted_indices": True}],
    },
    "kibana_system": {
        "cluster": ["monitor", "manage_index_templates", "manage_ilm"],
        "indices": [
            {"names": [".kibana*"], "privileges": ["all"], "allow_restricted_indices": False}
        ],
    },
    "logstash_system": {"cluster": ["monitor"], "indices": []},
    "beats_system": {"cluster": ["monitor"], "indices": []},
    "apm_system": {"cluster": ["monitor"], "indices": []},
    "remote_monitoring_agent": {"cluster": ["monitor"], "indices": []},
    "kibana_admin": {"cluster": [], "indices": []},
    "viewer": {
        "cluster": [],
        "indices": [{"names": ["*"], "privileges": ["read"], "allow_restricted_indices": False}],
    },
}
RESERVED_USERS = {
    "elastic": ["superuser"],
    "kibana_system": ["kibana_system"],
    "logstash_system": ["logstash_system"],
    "beats_system": ["beats_system"],
    "apm_system": ["apm_system"],
    "remote_monitoring_user": ["remote_monitoring_agent"],
}
ILM_ACTIONS = {
    "hot": {
        "set_priority",
        "rollover",
        "forcemerge",
        "readonly",
        "shrink",
        "unfollow",
        "downsample",
        "searchable_snapshot",
    },
    "warm": {
        "set_priority",
        "allocate",
        "migrate",
        "forcemerge",
        "readonly",
        "shrink",
        "unfollow",
        "downsample",
    },
    "cold": {
        "set_priority",
        "allocate",
        "migrate",
        "readonly",
        "searchable_snapshot",
        "unfollow",
        "downsample",
    },
    "frozen": {"searchable_snapshot", "unfollow"},
    "delete": {"delete", "wait_for_snapshot"},
}
TIME_VALUE = re.compile(r"^\d+(d|h|m|s|ms|micros|nanos)$")


class ConfigError(Exception):
    """A configuration the real node would refuse to start with."""


def log(message: str, quiet: bool = False, logfile: Path | None = None) -> None:
    line = f"[{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}][INFO ][standin] {message}"
    if not quiet:
        print(line, flush=True)
    if logfile is not None:
        with contextlib.suppress(OSError), logfile.open("a") as handle:
            handle.write(line + "\n")


# --------------------------------------------------------------------------- keystore
def keystore_path(conf: Path) -> Path:
    return conf / "elasticsearch.keystore"


def read_keystore(conf: Path) -> dict[str, str]:
    path = keystore_path(conf)
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return data.get("settings", {})


def write_keystore(conf: Path, settings: dict[str, str]) -> None:
    path = keystore_path(conf)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"standin": BANNER, "settings": settings}, indent=1))
    os.chmod(tmp, 0o660)
    with contextlib.suppress(OSError):
        st = path.stat()
        os.chown(tmp, st.st_uid, st.st_gid)
    tmp.replace(path)


def keystore_main(argv: list[str]) -> int:
    conf = Path(os.environ.get("ES_PATH_CONF") or HOME / "config")
    parser = argparse.ArgumentParser(prog="elasticsearch-keystore", exit_on_error=False)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("-s", "--silent", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create")
    create.add_argument("-p", "--password", action="store_true")
    sub.add_parser("list")
    add = sub.add_parser("add")
    add.add_argument("-f", "--force", action="store_true")
    add.add_argument("-x", "--stdin", action="store_true")
    add.add_argument("settings", nargs="+")
    remove = sub.add_parser("remove")
    remove.add_argument("settings", nargs="+")
    show = sub.add_parser("show")
    show.add_argument("setting")
    sub.add_parser("upgrade")
    if "--version" in argv or "-V" in argv:
        print(BANNER)
        return 0
    try:
        args = parser.parse_args(argv)
    except (argparse.ArgumentError, SystemExit) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EX_USAGE
    exists = keystore_path(conf).exists()
    if args.command == "create":
        if exists:
            print("ERROR: An elasticsearch keystore already exists.", file=sys.stderr)
            return 1
        write_keystore(conf, {"keystore.seed": secrets.token_urlsafe(20)})
        print(f"Created elasticsearch keystore in {conf}/elasticsearch.keystore")
        return 0
    if not exists:
        print(
            f"ERROR: Elasticsearch keystore not found at [{keystore_path(conf)}]. "
            "Use 'create' command to create one.",
            file=sys.stderr,
        )
        return EX_CONFIG
    settings = read_keystore(conf)
    if args.command == "list":
        print("\n".join(sorted(settings)))
        return 0
    if args.command == "upgrade":
        return 0
    if args.command == "show":
        if args.setting not in settings:
            print(
                f"ERROR: Setting [{args.setting}] does not exist in the keystore.", file=sys.stderr
            )
            return EX_CONFIG
        print(settings[args.setting])
        return 0
    if args.command == "remove":
        for name in args.settings:
            if name not in settings:
                print(f"ERROR: [{name}] setting was not found in keystore.", file=sys.stderr)
                return EX_CONFIG
            del settings[name]
        write_keystore(conf, settings)
        return 0
    # add
    values = sys.stdin.read().splitlines() if args.stdin else []
    for index, name in enumerate(args.settings):
        if name not in KEYSTORE_SETTINGS:
            print(
                f"ERROR: unknown secure setting [{name}] (stand-in accepts "
                f"{sorted(KEYSTORE_SETTINGS)})",
                file=sys.stderr,
            )
            return EX_CONFIG
        if name in settings and not args.force:
            print(f"ERROR: Setting {name} already exists. Overwrite? (use -f)", file=sys.stderr)
            return 1
        if not args.stdin or index >= len(values):
            print("ERROR: the stand-in reads values from stdin only (-x)", file=sys.stderr)
            return EX_USAGE
        settings[name] = values[index]
    write_keystore(conf, settings)
    return 0


# --------------------------------------------------------------------------- configuration
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


def known(name: str) -> bool:
    return name in KNOWN_SETTINGS or any(
        fnmatch.fnmatchcase(name, pattern) for pattern in KNOWN_SETTINGS if "*" in pattern
    )


JVM_LINE = re.compile(r"^(?:(\d+)(-(\d+)?)?:)?(-\S+)$")
HEAP = re.compile(r"^-Xm([sx])(\d+[kKmMgG]?)$")


def read_jvm_options(conf: Path) -> list[str]:
    main = conf / "jvm.options"
    if not main.is_file():
        raise ConfigError(f"jvm.options not found in [{conf}]")
    files = [main, *sorted((conf / "jvm.options.d").glob("*.options"))]
    options: list[str] = []
    errors: list[str] = []
    for path in files:
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            match = JVM_LINE.match(line)
            if not match:
                errors.append(
                    f"[{number}]: encountered improperly formatted JVM option in [{path}] "
                    f"on line number [{number}]: [{raw}]"
                )
                continue
            options.append(match.group(4))
    if errors:
        raise ConfigError(
            f"encountered [{len(errors)}] error(s) parsing JVM options:\n" + "\n".join(errors)
        )
    heap = {}
    for option in options:
        match = HEAP.match(option)
        if match:
            heap[match.group(1)] = match.group(2).lower()
        elif option.startswith("-Xm"):
            raise ConfigError(f"invalid heap option [{option}]")
    if heap and heap.get("s") != heap.get("x"):
        raise ConfigError(
            f"bootstrap check failure: initial heap size [{heap.get('s')}] not equal to "
            f"maximum heap size [{heap.get('x')}]; this can cause resize pauses"
        )
    return options


def as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def as_bool(name: str, value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if str(value) in ("true", "false"):
        return str(value) == "true"
    raise ConfigError(
        f"Failed to parse value [{value}] as only [true] or [false] are allowed. (setting [{name}])"
    )


def load_config(conf: Path, overrides: dict[str, str]) -> dict[str, object]:
    import yaml  # vendored in lib/python

    path = conf / "elasticsearch.yml"
    if not path.is_file():
        raise ConfigError(f"elasticsearch.yml not found in [{conf}]")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Failed to load settings from [{path}]: {exc}") from exc
    settings = flatten(data)
    settings.update(overrides)
    for name in settings:
        if not known(name):
            raise ConfigError(
                f"java.lang.IllegalArgumentException: unknown setting [{name}] please check that "
                "any required plugins are installed, or check the breaking changes documentation "
                "for removed settings"
            )
    if not (conf / "log4j2.properties").is_file():
        raise ConfigError(f"log4j2.properties not found in [{conf}]")
    if settings.get("discovery.type") not in (None, "single-node", "multi-node"):
        raise ConfigError(f"Unknown discovery type [{settings['discovery.type']}]")
    if settings.get("discovery.type") == "single-node" and as_list(
        settings.get("cluster.initial_master_nodes")
    ):
        raise ConfigError(
            "setting [cluster.initial_master_nodes] is not allowed when [discovery.type] "
            "is set to [single-node]"
        )
    for layer in ("http", "transport"):
        prefix = f"xpack.security.{layer}.ssl."
        enabled = as_bool(prefix + "enabled", settings.get(prefix + "enabled"), False)
        if not enabled:
            continue
        for item in ("key", "certificate"):
            if not settings.get(prefix + item):
                raise ConfigError(
                    f"invalid SSL configuration for {prefix[:-1]} - server ssl configuration "
                    "requires a key and certificate, but these have not been configured; you "
                    f"must set either [{prefix}keystore.path], or both [{prefix}key] and "
                    f"[{prefix}certificate]"
                )
        for item in (
            "key",
            "certificate",
            *(
                ["certificate_authorities"]
                if settings.get(prefix + "certificate_authorities")
                else []
            ),
        ):
            for file in as_list(settings[prefix + item]):
                resolved = (conf / file).resolve()
                if not resolved.is_relative_to(conf.resolve()):
                    raise ConfigError(
                        f"failed to load SSL configuration [{prefix[:-1]}] - cannot read "
                        f"configured PEM file [{resolved}] because access to read the file is "
                        f"blocked; SSL resources should be placed in the [{conf}] directory"
                    )
                if not resolved.is_file():
                    raise ConfigError(
                        f"failed to load SSL configuration [{prefix[:-1]}] - cannot read "
                        f"configured [PEM] file [{resolved}] because the file does not exist"
                    )
        mode = settings.get(prefix + "verification_mode", "full")
        if mode not in ("full", "certificate", "none"):
            raise ConfigError(f"unknown verification mode [{mode}]")
    security = as_bool("xpack.security.enabled", settings.get("xpack.security.enabled"), True)
    single = settings.get("discovery.type") == "single-node"
    if (
        security
        and not single
        and not as_bool("t", settings.get("xpack.security.transport.ssl.enabled"), False)
    ):
        raise ConfigError(
            "bootstrap check failure: Transport SSL must be enabled if security is enabled. "
            "Please set [xpack.security.transport.ssl.enabled] to [true] or disable security "
            "by setting [xpack.security.enabled] to [false]"
        )
    for name in ("http.port", "transport.port"):
        if name in settings and not str(settings[name]).isdigit():
            raise ConfigError(f"Failed to parse value [{settings[name]}] for setting [{name}]")
    as_bool("bootstrap.memory_lock", settings.get("bootstrap.memory_lock"), False)
    return settings


def site_addresses() -> list[str]:
    """Site-local IPv4 addresses of the host (upstream's ``_site_``), from the kernel's FIB."""
    found: list[str] = []
    with contextlib.suppress(OSError):
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
        for index, line in enumerate(lines):
            if "/32 host LOCAL" in line and index > 0:
                address = lines[index - 1].split()[-1]
                with contextlib.suppress(ValueError):
                    ip = ipaddress.ip_address(address)
                    if ip.is_private and not ip.is_loopback and address not in found:
                        found.append(address)
    return found


def bind_addresses(settings: dict[str, object]) -> list[str]:
    hosts = as_list(
        settings.get("http.host")
        or settings.get("network.bind_host")
        or settings.get("network.host")
        or "_local_"
    )
    addresses: list[str] = []
    for host in hosts:
        if host in ("_local_", "_local:ipv4_"):
            resolved = ["127.0.0.1"]
        elif host in ("_site_", "_site:ipv4_"):
            resolved = site_addresses()
        elif host in (ANY, "_global_"):
            resolved = [ANY]
        elif host.startswith("_"):
            raise ConfigError(f"stand-in: unsupported network.host special value [{host}]")
        else:
            try:
                resolved = [socket.gethostbyname(host)]
            except OSError as exc:
                raise ConfigError(f"failed to resolve host [{host}]") from exc
        addresses += [a for a in resolved if a not in addresses]
    if ANY in addresses:
        return [ANY]
    return addresses


# --------------------------------------------------------------------------- state
def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 10000).hex()
    return f"{salt}${digest}"


def check_password(stored: str, password: str) -> bool:
    salt, _ = stored.split("$", 1)
    return hmac.compare_digest(hash_password(password, salt), stored)


class State:
    """Security objects, ILM policies and templates, persisted in path.data/_state."""

    def __init__(self, data_dir: Path, bootstrap_password: str | None) -> None:
        self.dir = data_dir / "_state"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.file = self.dir / "standin-state.json"
        self.lock = threading.RLock()
        self.bootstrap_password = bootstrap_password
        if self.file.exists():
            self.data = json.loads(self.file.read_text())
        else:
            self.data = {
                "cluster_uuid": uuid.uuid4().hex[:22],
                "users": {},
                "roles": {},
                "ilm": {},
                "templates": {},
                "indices": {},
            }
            self.save()
        self.docs: dict[str, list[dict]] = {}

    def save(self) -> None:
        with self.lock:
            tmp = self.file.with_name(self.file.name + ".tmp")
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
            tmp.replace(self.file)

    # authentication -----------------------------------------------------------
    def authenticate(self, username: str, password: str) -> dict | None:
        with self.lock:
            user = self.data["users"].get(username)
            if username in RESERVED_USERS:
                stored = (user or {}).get("password")
                if stored:
                    ok = check_password(stored, password)
                elif username == "elastic" and self.bootstrap_password:
                    ok = hmac.compare_digest(password, self.bootstrap_password)
                else:
                    ok = False
                if ok:
                    return {
                        "username": username,
                        "roles": RESERVED_USERS[username],
                        "realm": ("reserved", "reserved"),
                    }
                return None
            if user and user.get("enabled", True) and check_password(user["password"], password):
                return {
                    "username": username,
                    "roles": user.get("roles", []),
                    "realm": ("default_native", "native"),
                }
            return None

    def role(self, name: str) -> dict | None:
        return RESERVED_ROLES.get(name) or self.data["roles"].get(name)

    def cluster_allowed(self, identity: dict, privilege: str) -> bool:
        for name in identity["roles"]:
            role = self.role(name) or {}
            granted = set(role.get("cluster", []))
            if "all" in granted or privilege in granted:
                return True
            if (
                privilege in ("monitor", "manage_ilm", "read_ilm", "manage_index_templates")
                and "manage" in granted
            ):
                return True
            if privilege == "read_ilm" and "manage_ilm" in granted:
                return True
        return False

    def index_allowed(self, identity: dict, index: str, wanted: set[str]) -> bool:
        for name in identity["roles"]:
            for entry in (self.role(name) or {}).get("indices", []):
                if set(entry.get("privileges", [])) & wanted and any(
                    fnmatch.fnmatchcase(index, pattern) for pattern in entry.get("names", [])
                ):
                    return True
        return False


# --------------------------------------------------------------------------- normalisation
def normalize_settings(settings: dict) -> dict:
    """Index settings as GET returns them: nested under "index", values as strings."""
    out: dict = {}
    for key, value in flatten(settings).items():
        key = key if key.startswith("index.") else f"index.{key}"
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def get_setting(settings: dict, dotted: str) -> object:
    node: object = settings
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error_type: str,
        reason: str,
        headers: dict | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(reason)
        self.status, self.error_type, self.reason, self.headers = (
            status,
            error_type,
            reason,
            headers or {},
        )
        self.extra = extra or {}

    def body(self) -> dict:
        cause = {"type": self.error_type, "reason": self.reason, **self.extra}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


def index_not_found(name: str) -> ApiError:
    """Upstream's 404 for a concrete index name that does not exist."""
    return ApiError(
        404,
        "index_not_found_exception",
        f"no such index [{name}]",
        extra={
            "resource.type": "index_or_alias",
            "resource.id": name,
            "index_uuid": "_na_",
            "index": name,
        },
    )


def bad_request(reason: str, error_type: str = "illegal_argument_exception") -> ApiError:
    return ApiError(400, error_type, reason)


# --------------------------------------------------------------------------- HTTP API
class Node:
    def __init__(self, settings: dict, state: State, logfile: Path | None) -> None:
        self.settings = settings
        self.state = state
        self.logfile = logfile
        self.name = str(settings.get("node.name") or socket.gethostname())
        self.cluster = str(settings.get("cluster.name") or "elasticsearch")
        self.security = as_bool(
            "xpack.security.enabled", settings.get("xpack.security.enabled"), True
        )

    # helpers ---------------------------------------------------------------------
    def require_cluster(self, identity: dict, privilege: str, action: str) -> None:
        if not self.state.cluster_allowed(identity, privilege):
            raise ApiError(
                403,
                "security_exception",
                f"action [{action}] is unauthorized for user [{identity['username']}] "
                f"with effective roles [{','.join(identity['roles'])}], this action is "
                f"granted by the cluster privileges [{privilege},manage,all]",
            )

    def require_index(self, identity: dict, index: str, wanted: set[str], action: str) -> None:
        if not self.state.index_allowed(identity, index, wanted):
            raise ApiError(
                403,
                "security_exception",
                f"action [{action}] is unauthorized for user [{identity['username']}] "
                f"with effective roles [{','.join(identity['roles'])}] on indices "
                f"[{index}], this action is granted by the index privileges "
                f"[{','.join(sorted(wanted))}]",
            )

    def health(self) -> dict:
        indices = self.state.data["indices"]
        replicas_missing = sum(
            int(get_setting(i["settings"], "index.number_of_replicas") or 1)
            * int(get_setting(i["settings"], "index.number_of_shards") or 1)
            for i in indices.values()
        )
        primaries = sum(
            int(get_setting(i["settings"], "index.number_of_shards") or 1) for i in indices.values()
        )
        return {
            "cluster_name": self.cluster,
            "status": "yellow" if replicas_missing else "green",
            "timed_out": False,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
            "active_primary_shards": primaries,
            "active_shards": primaries,
            "relocating_shards": 0,
            "initializing_shards": 0,
            "unassigned_shards": replicas_missing,
            "unassigned_primary_shards": 0,
            "delayed_unassigned_shards": 0,
            "number_of_pending_tasks": 0,
            "number_of_in_flight_fetch": 0,
            "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number": 100.0
            if not replicas_missing
            else round(100.0 * primaries / (primaries + replicas_missing), 1),
        }

    def create_index(self, identity: dict, index: str) -> dict:
        indices = self.state.data["indices"]
        if index in indices:
            return indices[index]
        if not re.match(r"^[a-z0-9][a-z0-9_.+-]*$", index) or len(index) > 255:
            raise bad_request(
                f"Invalid index name [{index}], must be lowercase", "invalid_index_name_exception"
            )
        self.require_index(identity, index, CREATE_INDEX_PRIVS, "indices:admin/auto/create")
        settings: dict = {"index": {"number_of_shards": "1", "number_of_replicas": "1"}}
        mappings: dict = {}
        matching = sorted(
            (
                t
                for t in self.state.data["templates"].items()
                if any(fnmatch.fnmatchcase(index, p) for p in t[1]["index_patterns"])
            ),
            key=lambda t: -int(t[1].get("priority", 0)),
        )
        if matching:
            template = matching[0][1].get("template", {})
            for key, value in flatten(template.get("settings", {})).items():
                node = settings
                parts = key.split(".")
                for part in parts[:-1]:
                    node = node.setdefault(part, {})
                node[parts[-1]] = value
            mappings = template.get("mappings", {})
        settings["index"]["provided_name"] = index
        settings["index"]["uuid"] = uuid.uuid4().hex[:22]
        settings["index"]["creation_date"] = str(int(time.time() * 1000))
        indices[index] = {
            "settings": settings,
            "mappings": mappings,
            "template": matching[0][0] if matching else None,
        }
        self.state.save()
        log(
            f"[{index}] creating index, template [{indices[index]['template']}]", True, self.logfile
        )
        return indices[index]

    def index_doc(
        self, identity: dict, index: str, doc_id: str | None, source: dict, op_type: str = "index"
    ) -> dict:
        if not isinstance(source, dict):
            raise ApiError(400, "mapper_parsing_exception", "failed to parse")
        wanted = (
            {"create_doc", "create", "write", "all"}
            if op_type == "create"
            else {"index", "write", "all"}
        )
        self.require_index(
            identity,
            index,
            wanted | ({"create_doc"} if doc_id is None else set()),
            "indices:data/write/index",
        )
        with self.state.lock:
            self.create_index(identity, index)
            docs = self.state.docs.setdefault(index, [])
            # Only a caller's id can name a document that exists: a generated one is new
            # (no scan of the index per document, which made bulk writes quadratic).
            existing = [d for d in docs if d["_id"] == doc_id] if doc_id else []
            doc_id = doc_id or base64.urlsafe_b64encode(uuid.uuid4().bytes)[:20].decode()
            if existing and op_type == "create":
                raise ApiError(
                    409,
                    "version_conflict_engine_exception",
                    f"[{doc_id}]: version conflict, document already exists",
                )
            for doc in existing:
                docs.remove(doc)
            docs.append({"_id": doc_id, "_source": source})
            return {
                "_index": index,
                "_id": doc_id,
                "_version": len(existing) + 1,
                "result": "updated" if existing else "created",
                "_shards": {"total": 1, "successful": 1, "failed": 0},
                "_seq_no": len(docs) - 1,
                "_primary_term": 1,
            }

    def resolve(self, identity: dict, target: str, wanted: set[str], action: str) -> list[str]:
        """Concrete indices of a comma-separated target, as upstream's security resolver does:
        wildcards expand to the matching indices the user holds ``wanted`` on; a concrete
        name must be authorized (403) and exist (404)."""
        indices = self.state.data["indices"]
        names: list[str] = []
        for expression in as_list(target):
            if expression == "_all" or "*" in expression:
                pattern = "*" if expression == "_all" else expression
                matched = sorted(
                    i
                    for i in indices
                    if fnmatch.fnmatchcase(i, pattern)
                    and self.state.index_allowed(identity, i, wanted)
                )
            else:
                self.require_index(identity, expression, wanted, action)
                if expression not in indices:
                    raise index_not_found(expression)
                matched = [expression]
            names += [n for n in matched if n not in names]
        return names

    def delete_indices(self, identity: dict, target: str) -> dict:
        destructive_requires_name = as_bool(
            "action.destructive_requires_name",
            self.settings.get("action.destructive_requires_name"),
            True,
        )
        if destructive_requires_name and any(e == "_all" or "*" in e for e in as_list(target)):
            raise bad_request("Wildcard expressions or all indices are not allowed")
        with self.state.lock:
            names = self.resolve(identity, target, DELETE_INDEX_PRIVS, "indices:admin/delete")
            for name in names:
                del self.state.data["indices"][name]
                self.state.docs.pop(name, None)
                log(f"[{name}] deleting index", True, self.logfile)
            self.state.save()
        return {"acknowledged": True}

    def search(self, identity: dict, target: str, body: dict, count_only: bool) -> dict:
        patterns = as_list(target or "*")
        names = [
            i
            for i in self.state.data["indices"]
            if any(fnmatch.fnmatchcase(i, p) for p in patterns)
        ]
        for name in names:
            self.require_index(identity, name, READ_PRIVS, "indices:data/read/search")
        if not names and not any("*" in p for p in patterns):
            raise ApiError(404, "index_not_found_exception", f"no such index [{target}]")
        query = (body or {}).get("query", {"match_all": {}})
        hits = [
            dict(d, _index=i)
            for i in names
            for d in self.state.docs.get(i, [])
            if matches(query, d["_source"])
        ]
        if count_only:
            return {
                "count": len(hits),
                "_shards": {
                    "total": len(names),
                    "successful": len(names),
                    "skipped": 0,
                    "failed": 0,
                },
            }
        size = int((body or {}).get("size", 10))
        return {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": len(names), "successful": len(names), "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": len(hits), "relation": "eq"},
                "max_score": 1.0 if hits else None,
                "hits": [
                    {"_index": h["_index"], "_id": h["_id"], "_score": 1.0, "_source": h["_source"]}
                    for h in hits[:size]
                ],
            },
        }


def field(source: dict, name: str) -> object:
    if name in source:
        return source[name]
    return get_setting(source, name)


def matches(query: dict, source: dict) -> bool:
    """match_all, term, terms, match and bool.must/filter: the subset the tests use."""
    if not query or "match_all" in query:
        return True
    if "term" in query:
        ((name, value),) = query["term"].items()
        value = value.get("value") if isinstance(value, dict) else value
        return field(source, name) == value
    if "terms" in query:
        ((name, values),) = query["terms"].items()
        return field(source, name) in values
    if "match" in query:
        ((name, value),) = query["match"].items()
        value = value.get("query") if isinstance(value, dict) else value
        return str(value).lower() in str(field(source, name) or "").lower()
    if "bool" in query:
        clauses = query["bool"].get("must", []) + query["bool"].get("filter", [])
        clauses = clauses if isinstance(clauses, list) else [clauses]
        return all(matches(c, source) for c in clauses)
    raise bad_request(f"stand-in: unsupported query {sorted(query)}", "parsing_exception")


def role_body(role: dict) -> dict:
    return {
        "cluster": role.get("cluster", []),
        "indices": [
            {
                "names": i.get("names", []),
                "privileges": i.get("privileges", []),
                "allow_restricted_indices": i.get("allow_restricted_indices", False),
            }
            for i in role.get("indices", [])
        ],
        "applications": role.get("applications", []),
        "run_as": role.get("run_as", []),
        "metadata": role.get("metadata", {}),
        "transient_metadata": {"enabled": True},
    }


def validate_role(name: str, body: dict) -> dict:
    allowed = {"cluster", "indices", "applications", "run_as", "metadata", "description"}
    for key in body:
        if key not in allowed:
            raise bad_request(
                f"failed to parse role [{name}]. unexpected field [{key}]", "parse_exception"
            )
    for privilege in body.get("cluster", []):
        if privilege not in CLUSTER_PRIVILEGES:
            raise bad_request(
                f"unknown cluster privilege [{privilege}]. a privilege must be either "
                "one of the predefined cluster privilege names "
                f"[{','.join(sorted(CLUSTER_PRIVILEGES))}] or a pattern over one of the "
                "available cluster actions"
            )
    for entry in body.get("indices", []):
        for key in entry:
            if key not in (
                "names",
                "privileges",
                "allow_restricted_indices",
                "field_security",
                "query",
            ):
                raise bad_request(
                    f"failed to parse indices privileges for role [{name}]. "
                    f"unexpected field [{key}]",
                    "parse_exception",
                )
        if not entry.get("names") or not entry.get("privileges"):
            raise bad_request(
                f"failed to parse indices privileges for role [{name}]. "
                "missing required [names] or [privileges]",
                "parse_exception",
            )
        for privilege in entry["privileges"]:
            if privilege not in INDEX_PRIVILEGES:
                raise bad_request(
                    f"unknown index privilege [{privilege}]. a privilege must be either "
                    "one of the predefined fixed indices privileges "
                    f"[{','.join(sorted(INDEX_PRIVILEGES))}] or a pattern over one of "
                    "the available index actions"
                )
    return body


def normalize_policy(name: str, body: dict) -> dict:
    if set(body) != {"policy"}:
        raise bad_request(
            f"[put_lifecycle_request] unknown field {sorted(set(body) - {'policy'})}",
            "x_content_parse_exception",
        )
    policy = body["policy"]
    for key in policy:
        if key not in ("phases", "_meta"):
            raise bad_request(
                f"[lifecycle_policy] unknown field [{key}]", "x_content_parse_exception"
            )
    phases = {}
    for phase, spec in (policy.get("phases") or {}).items():
        if phase not in ILM_ACTIONS:
            raise bad_request(f"Lifecycle does not support phase [{phase}]")
        for key in spec:
            if key not in ("min_age", "actions"):
                raise bad_request(f"[phase] unknown field [{key}]", "x_content_parse_exception")
        min_age = str(spec.get("min_age", "0ms"))
        if not TIME_VALUE.match(min_age):
            raise bad_request(
                f"failed to parse setting [min_age] with value [{min_age}] as a time value: "
                "unit is missing or unrecognized",
                "x_content_parse_exception",
            )
        actions = {}
        for action, params in (spec.get("actions") or {}).items():
            if action not in ILM_ACTIONS[phase]:
                raise bad_request(f"invalid action [{action}] defined in phase [{phase}]")
            params = dict(params or {})
            if action == "delete":
                params.setdefault("delete_searchable_snapshot", True)
            if action == "rollover" and not params:
                raise bad_request("At least one rollover condition must be set.")
            actions[action] = params
        phases[phase] = {"min_age": min_age, "actions": actions}
    out = {"phases": phases}
    if "_meta" in policy:
        out["_meta"] = policy["_meta"]
    return out


def normalize_template(name: str, body: dict) -> dict:
    allowed = {
        "index_patterns",
        "template",
        "priority",
        "version",
        "_meta",
        "composed_of",
        "data_stream",
        "allow_auto_create",
        "ignore_missing_component_templates",
        "deprecated",
    }
    for key in body:
        if key not in allowed:
            raise bad_request(
                f"[index_template] unknown field [{key}]", "x_content_parse_exception"
            )
    patterns = body.get("index_patterns")
    if not patterns:
        raise ApiError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: index patterns are missing;",
        )
    out = dict(body)
    out["index_patterns"] = as_list(patterns)
    template = dict(body.get("template") or {})
    for key in template:
        if key not in ("settings", "mappings", "aliases", "lifecycle"):
            raise bad_request(f"[template] unknown field [{key}]", "x_content_parse_exception")
    if "settings" in template:
        template["settings"] = normalize_settings(template["settings"])
    out["template"] = template
    out.setdefault("composed_of", [])
    return out


class Handler(BaseHTTPRequestHandler):
    server_version = "elasticsearch-standin"
    protocol_version = "HTTP/1.1"
    node: Node

    def log_message(self, format: str, *args: object) -> None:
        log(f"http {self.address_string()} {format % args}", True, self.node.logfile)

    def send_json(self, status: int, body: object, headers: dict | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-elastic-product", "Elasticsearch")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def identity(self, path: str) -> dict:
        if not self.node.security:
            return {
                "username": "_anonymous",
                "roles": ["superuser"],
                "realm": ("__anonymous", "anonymous"),
            }
        header = self.headers.get("Authorization", "")
        challenge = {"WWW-Authenticate": 'Basic realm="security", charset="UTF-8"'}
        if not header.startswith("Basic "):
            raise ApiError(
                401,
                "security_exception",
                f"missing authentication credentials for REST request [{path}]",
                challenge,
            )
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError as exc:
            raise ApiError(
                401, "security_exception", "invalid basic authentication header encoding", challenge
            ) from exc
        identity = self.node.state.authenticate(username, password)
        if identity is None:
            raise ApiError(
                401,
                "security_exception",
                f"unable to authenticate user [{username}] for REST request [{path}]",
                challenge,
            )
        return identity

    def handle_any(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path).rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        raw = self.read_body()
        try:
            identity = self.identity(url.path)
            status, body = self.route(self.command, path, query, raw, identity)
            self.send_json(status, body)
        except ApiError as exc:
            self.send_json(exc.status, exc.body(), exc.headers)
        except (ValueError, KeyError, TypeError) as exc:
            self.send_json(
                400, bad_request(f"failed to parse request: {exc}", "parse_exception").body()
            )

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    def json_body(self, raw: bytes) -> dict:
        if not raw:
            raise bad_request("request body is required", "parse_exception")
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ApiError(
                400, "x_content_parse_exception", f"failed to parse JSON: {exc}"
            ) from exc
        if not isinstance(body, dict):
            raise ApiError(400, "x_content_parse_exception", "request body must be an object")
        return body

    def route(
        self, method: str, path: str, query: dict, raw: bytes, who: dict
    ) -> tuple[int, object]:
        node, state = self.node, self.node.state
        parts = [p for p in path.split("/") if p]
        if path == "/" and method in ("GET", "HEAD"):
            self.require_monitor(who)
            return 200, {
                "name": node.name,
                "cluster_name": node.cluster,
                "cluster_uuid": state.data["cluster_uuid"],
                "version": {
                    "number": VERSION,
                    "build_flavor": "default",
                    "build_type": "tar",
                    "build_hash": "standin",
                    "build_date": "2026-01-01T00:00:00.000Z",
                    "build_snapshot": False,
                    "lucene_version": "10.3.0",
                    "minimum_wire_compatibility_version": "8.19.0",
                    "minimum_index_compatibility_version": "8.0.0",
                },
                "tagline": "You Know, for Search",
                "standin": BANNER,
            }
        if path == "/_license" and method == "GET":
            self.require_monitor(who)
            return 200, {
                "license": {
                    "status": "active",
                    "uid": state.data["cluster_uuid"],
                    "type": "basic",
                    "issued_to": node.cluster,
                    "issuer": "elasticsearch",
                    "start_date_in_millis": -1,
                }
            }
        if parts[:2] == ["_cluster", "health"] and method == "GET":
            self.require_monitor(who)
            return 200, node.health()
        if parts[0] == "_security":
            return self.security(method, parts[1:], raw, who)
        if parts[0] == "_ilm" and parts[1:2] == ["policy"]:
            return self.ilm(method, parts[2:], raw, who)
        if parts[0] == "_index_template":
            return self.templates(method, parts[1:], raw, who)
        if parts[-1] == "_bulk" and method in ("POST", "PUT"):
            return 200, self.bulk(parts[0] if len(parts) == 2 else None, raw, who)
        if parts[-1] in ("_search", "_count") and method in ("GET", "POST"):
            body = json.loads(raw) if raw else {}
            target = parts[0] if len(parts) == 2 else "*"
            return 200, node.search(who, target, body, parts[-1] == "_count")
        if len(parts) >= 2 and parts[1] in ("_doc", "_create") and method in ("POST", "PUT"):
            doc_id = parts[2] if len(parts) > 2 else None
            if doc_id is None and method == "PUT":
                raise bad_request("PUT requires a document id")
            op_type = (
                "create" if parts[1] == "_create" or query.get("op_type") == "create" else "index"
            )
            result = node.index_doc(who, parts[0], doc_id, self.json_body(raw), op_type)
            return (201 if result["result"] == "created" else 200), result
        if len(parts) == 2 and parts[1] == "_refresh" and method == "POST":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if len(parts) == 2 and parts[1] == "_settings" and method == "GET":
            names = node.resolve(who, parts[0], VIEW_METADATA_PRIVS, "indices:monitor/settings/get")
            return 200, {n: {"settings": state.data["indices"][n]["settings"]} for n in names}
        if (
            len(parts) == 1
            and (not parts[0].startswith("_") or parts[0] == "_all")
            and method == "DELETE"
        ):
            return 200, node.delete_indices(who, parts[0])
        raise bad_request(
            f"no handler found for uri [{path}] and method [{method}] (stand-in subset)"
        )

    def require_monitor(self, who: dict) -> None:
        self.node.require_cluster(who, "monitor", "cluster:monitor/main")

    def security(self, method: str, parts: list[str], raw: bytes, who: dict) -> tuple[int, object]:
        node, state = self.node, self.node.state
        if parts == ["_authenticate"] and method == "GET":
            realm_name, realm_type = who["realm"]
            return 200, {
                "username": who["username"],
                "roles": who["roles"],
                "full_name": None,
                "email": None,
                "metadata": {"_reserved": True} if realm_type == "reserved" else {},
                "enabled": True,
                "authentication_realm": {"name": realm_name, "type": realm_type},
                "lookup_realm": {"name": realm_name, "type": realm_type},
                "authentication_type": "realm",
            }
        if (
            len(parts) == 3
            and parts[0] == "user"
            and parts[2] == "_password"
            and method in ("PUT", "POST")
        ):
            name = parts[1]
            if name != who["username"]:
                node.require_cluster(
                    who, "manage_security", "cluster:admin/xpack/security/user/change_password"
                )
            body = self.json_body(raw)
            password = body.get("password")
            if set(body) - {"password", "password_hash"} or not isinstance(password, str):
                raise ApiError(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: password must be specified;",
                )
            if len(password) < 6:
                raise ApiError(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: passwords must be at least [6] characters long;",
                )
            with state.lock:
                if name not in RESERVED_USERS and name not in state.data["users"]:
                    raise ApiError(
                        404, "resource_not_found_exception", f"user [{name}] does not exist"
                    )
                state.data["users"].setdefault(name, {"reserved": name in RESERVED_USERS})[
                    "password"
                ] = hash_password(password)
                state.save()
            log(f"password changed for user [{name}]", True, node.logfile)
            return 200, {}
        if parts[:1] == ["user"] and len(parts) <= 2:
            if method == "GET":
                node.require_cluster(
                    who, "manage_security", "cluster:admin/xpack/security/user/get"
                )
                names = parts[1].split(",") if len(parts) == 2 else None
                users = {n: {"roles": r} for n, r in RESERVED_USERS.items()}
                users = {
                    n: {
                        "username": n,
                        "roles": u["roles"],
                        "full_name": None,
                        "email": None,
                        "metadata": {"_reserved": True},
                        "enabled": True,
                    }
                    for n, u in users.items()
                }
                for n, u in state.data["users"].items():
                    if not u.get("reserved"):
                        users[n] = {
                            "username": n,
                            "roles": u.get("roles", []),
                            "full_name": u.get("full_name"),
                            "email": u.get("email"),
                            "metadata": u.get("metadata", {}),
                            "enabled": u.get("enabled", True),
                        }
                if names is not None:
                    users = {n: users[n] for n in names if n in users}
                    if not users:
                        return 404, {}
                return 200, users
            name = parts[1] if len(parts) == 2 else ""
            if method in ("PUT", "POST") and name:
                node.require_cluster(
                    who, "manage_security", "cluster:admin/xpack/security/user/put"
                )
                if name in RESERVED_USERS:
                    raise bad_request(
                        f"user [{name}] is reserved and only the password can be changed"
                    )
                body = self.json_body(raw)
                extra = set(body) - {
                    "password",
                    "password_hash",
                    "roles",
                    "full_name",
                    "email",
                    "metadata",
                    "enabled",
                }
                if extra:
                    raise bad_request(
                        f"failed to parse add user request. unexpected field [{sorted(extra)[0]}]",
                        "parse_exception",
                    )
                with state.lock:
                    existing = state.data["users"].get(name)
                    if existing is None and not body.get("password"):
                        raise ApiError(
                            400,
                            "action_request_validation_exception",
                            "Validation Failed: 1: password must be specified unless you are "
                            "updating an existing user;",
                        )
                    if body.get("password") is not None and len(body["password"]) < 6:
                        raise ApiError(
                            400,
                            "action_request_validation_exception",
                            "Validation Failed: 1: passwords must be at least [6] characters long;",
                        )
                    user = dict(existing or {})
                    user.update({k: v for k, v in body.items() if k != "password"})
                    if body.get("password"):
                        user["password"] = hash_password(body["password"])
                    state.data["users"][name] = user
                    state.save()
                return 200, {"created": existing is None}
            if method == "DELETE" and name:
                node.require_cluster(
                    who, "manage_security", "cluster:admin/xpack/security/user/delete"
                )
                with state.lock:
                    found = state.data["users"].pop(name, None) is not None
                    state.save()
                return (200 if found else 404), {"found": found}
        if parts[:1] == ["role"] and len(parts) <= 2:
            if method == "GET":
                node.require_cluster(
                    who, "manage_security", "cluster:admin/xpack/security/role/get"
                )
                roles = {
                    **{n: dict(r, metadata={"_reserved": True}) for n, r in RESERVED_ROLES.items()},
                    **state.data["roles"],
                }
                if len(parts) == 2:
                    roles = {n: roles[n] for n in parts[1].split(",") if n in roles}
                    if not roles:
                        return 404, {}
                return 200, {n: role_body(r) for n, r in roles.items()}
            name = parts[1] if len(parts) == 2 else ""
            if method in ("PUT", "POST") and name:
                node.require_cluster(
                    who, "manage_security", "cluster:admin/xpack/security/role/put"
                )
                if name in RESERVED_ROLES:
                    raise bad_request(f"role [{name}] is reserved and cannot be modified.")
                body = validate_role(name, self.json_body(raw))
                with state.lock:
                    created = name not in state.data["roles"]
                    state.data["roles"][name] = body
                    state.save()
                return 200, {"role": {"created": created}}
            if method == "DELETE" and name:
                node.require_cluster(
                    who, "manage_security", "cluster:admin/xpack/security/role/delete"
                )
                with state.lock:
                    found = state.data["roles"].pop(name, None) is not None
                    state.save()
                return (200 if found else 404), {"found": found}
        raise bad_request(
            f"no handler found for uri [/_security/{'/'.join(parts)}] and method "
            f"[{method}] (stand-in subset)"
        )

    def ilm(self, method: str, parts: list[str], raw: bytes, who: dict) -> tuple[int, object]:
        node, state = self.node, self.node.state
        policies = state.data["ilm"]
        if method == "GET":
            node.require_cluster(who, "read_ilm", "cluster:admin/ilm/get")
            names = parts[0].split(",") if parts else list(policies)
            missing = [n for n in names if n not in policies]
            if missing:
                raise ApiError(
                    404,
                    "resource_not_found_exception",
                    f"Lifecycle policy not found: [{missing[0]}]",
                )
            return 200, {
                n: {
                    "version": policies[n]["version"],
                    "modified_date": policies[n]["modified_date"],
                    "policy": policies[n]["policy"],
                    "in_use_by": {
                        "indices": [
                            i
                            for i, v in state.data["indices"].items()
                            if get_setting(v["settings"], "index.lifecycle.name") == n
                        ],
                        "data_streams": [],
                        "composable_templates": [
                            t
                            for t, v in state.data["templates"].items()
                            if get_setting(
                                v.get("template", {}).get("settings", {}), "index.lifecycle.name"
                            )
                            == n
                        ],
                    },
                }
                for n in names
            }
        if not parts:
            raise bad_request("a policy name is required")
        node.require_cluster(who, "manage_ilm", "cluster:admin/ilm/put")
        name = parts[0]
        if method == "PUT":
            policy = normalize_policy(name, self.json_body(raw))
            with state.lock:
                version = policies.get(name, {}).get("version", 0) + 1
                policies[name] = {
                    "version": version,
                    "policy": policy,
                    "modified_date": dt.datetime.now(dt.UTC)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                }
                state.save()
            return 200, {"acknowledged": True}
        if method == "DELETE":
            if name not in policies:
                raise ApiError(
                    404, "resource_not_found_exception", f"Lifecycle policy not found: [{name}]"
                )
            with state.lock:
                del policies[name]
                state.save()
            return 200, {"acknowledged": True}
        raise bad_request(f"no handler found for uri [/_ilm/policy] and method [{method}]")

    def templates(self, method: str, parts: list[str], raw: bytes, who: dict) -> tuple[int, object]:
        node, state = self.node, self.node.state
        templates = state.data["templates"]
        node.require_cluster(
            who, "manage_index_templates", "indices:admin/index_template/" + method.lower()
        )
        if method in ("GET", "HEAD"):
            pattern = parts[0] if parts else "*"
            names = [n for n in templates if fnmatch.fnmatchcase(n, pattern)]
            if not names and "*" not in pattern:
                raise ApiError(
                    404,
                    "resource_not_found_exception",
                    f"index template matching [{pattern}] not found",
                )
            return 200, {
                "index_templates": [
                    {"name": n, "index_template": templates[n]} for n in sorted(names)
                ]
            }
        if not parts:
            raise bad_request("a template name is required")
        if method in ("PUT", "POST"):
            body = normalize_template(parts[0], self.json_body(raw))
            with state.lock:
                templates[parts[0]] = body
                state.save()
            return 200, {"acknowledged": True}
        if method == "DELETE":
            if templates.pop(parts[0], None) is None:
                raise ApiError(
                    404, "resource_not_found_exception", f"index_template [{parts[0]}] missing"
                )
            state.save()
            return 200, {"acknowledged": True}
        raise bad_request(f"no handler found for uri [/_index_template] and method [{method}]")

    def bulk(self, default_index: str | None, raw: bytes, who: dict) -> dict:
        lines = [ln for ln in raw.decode().split("\n") if ln.strip()]
        items, errors, index = [], False, 0
        while index < len(lines):
            action = json.loads(lines[index])
            ((op, meta),) = action.items()
            if op not in ("index", "create"):
                raise bad_request(f"stand-in: unsupported bulk action [{op}]")
            source = json.loads(lines[index + 1])
            index += 2
            target = meta.get("_index") or default_index
            try:
                result = self.node.index_doc(who, target, meta.get("_id"), source, op)
                items.append(
                    {op: dict(result, status=201 if result["result"] == "created" else 200)}
                )
            except ApiError as exc:
                errors = True
                items.append(
                    {
                        op: {
                            "_index": target,
                            "_id": meta.get("_id"),
                            "status": exc.status,
                            "error": {"type": exc.error_type, "reason": exc.reason},
                        }
                    }
                )
        return {"took": 1, "errors": errors, "items": items}


# --------------------------------------------------------------------------- main
def serve_transport(address: str, port: int, context: ssl.SSLContext | None) -> None:
    sock = socket.create_server((address, port), reuse_port=False)

    def loop() -> None:
        while True:
            conn, _ = sock.accept()
            with contextlib.suppress(OSError):
                if context is not None:
                    conn = context.wrap_socket(conn, server_side=True)
                conn.close()

    threading.Thread(target=loop, daemon=True).start()


def server_context(conf: Path, settings: dict, layer: str) -> ssl.SSLContext | None:
    prefix = f"xpack.security.{layer}.ssl."
    if not as_bool(prefix + "enabled", settings.get(prefix + "enabled"), False):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(
            conf / str(settings[prefix + "certificate"]), conf / str(settings[prefix + "key"])
        )
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"failed to load SSL configuration [{prefix[:-1]}] - {exc}") from exc
    return context


def main(argv: list[str]) -> int:
    if Path(sys.argv[0]).name == "elasticsearch-keystore":
        return keystore_main(argv)
    parser = argparse.ArgumentParser(prog="elasticsearch", exit_on_error=False, add_help=False)
    parser.add_argument("-p", "--pidfile")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("-d", "--daemonize", action="store_true")
    parser.add_argument("-s", "--silent", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("-E", dest="settings", action="append", default=[])
    parser.add_argument("-V", "--version", action="store_true")
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--enrollment-token")
    try:
        args, unknown = parser.parse_known_args(argv)
    except argparse.ArgumentError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EX_USAGE
    if unknown:
        print(f"ERROR: {unknown[0]} is not a recognized option", file=sys.stderr)
        return EX_USAGE
    if args.version:
        print(
            f"Version: {VERSION}, Build: default/tar/standin/2026-01-01T00:00:00.000Z, "
            f"JVM: none ({BANNER})"
        )
        return 0
    if args.help:
        parser.print_help()
        return 0
    if args.daemonize:
        print("ERROR: the stand-in does not daemonize; run it under systemd", file=sys.stderr)
        return EX_USAGE
    print(BANNER, file=sys.stderr, flush=True)
    conf = Path(os.environ.get("ES_PATH_CONF") or HOME / "config")
    overrides = {}
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"ERROR: setting [{item}] must be in the form key=value", file=sys.stderr)
            return EX_USAGE
        overrides[key] = value
    try:
        settings = load_config(conf, overrides)
        read_jvm_options(conf)
        http_context = server_context(conf, settings, "http")
        transport_context = server_context(conf, settings, "transport")
        addresses = bind_addresses(settings)
    except ConfigError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EX_CONFIG
    if os.geteuid() == 0:
        print("ERROR: can not run elasticsearch as root", file=sys.stderr)
        return 1
    data_dir = Path(str(settings.get("path.data") or HOME / "data"))
    logs_dir = Path(str(settings.get("path.logs") or HOME / "logs"))
    for directory in (data_dir, logs_dir):
        if not os.access(directory, os.W_OK):
            print(
                f"ERROR: Unable to access 'path.data' or 'path.logs' ({directory}): not writable",
                file=sys.stderr,
            )
            return EX_CONFIG
    logfile = logs_dir / f"{settings.get('cluster.name') or 'elasticsearch'}.log"
    keystore = read_keystore(conf)
    state = State(data_dir, keystore.get("bootstrap.password"))
    Handler.node = Node(settings, state, logfile)
    http_port = int(settings.get("http.port") or 9200)
    transport_port = int(settings.get("transport.port") or 9300)
    servers = []
    try:
        for address in addresses:
            server = ThreadingHTTPServer((address, http_port), Handler)
            server.daemon_threads = True
            if http_context is not None:
                server.socket = http_context.wrap_socket(server.socket, server_side=True)
            servers.append(server)
            serve_transport(address, transport_port, transport_context)
    except OSError as exc:
        print(
            f"ERROR: BindTransportException: Failed to bind to {addresses}: {exc}", file=sys.stderr
        )
        return 1
    if args.pidfile:
        Path(args.pidfile).write_text(f"{os.getpid()}\n")
    log(BANNER, args.quiet, logfile)
    scheme = "https" if http_context else "http"
    log(
        f"node [{Handler.node.name}] of cluster [{Handler.node.cluster}] publish_address "
        f"{scheme}://{addresses[0]}:{http_port}, bound_addresses {addresses}, started",
        args.quiet,
        logfile,
    )

    def stop(*_: object) -> None:
        if args.pidfile:
            with contextlib.suppress(OSError):
                Path(args.pidfile).unlink()
        log("stopping ...", args.quiet, logfile)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
