"""Configuration from the environment, parsed and validated once at start-up.

Every setting has an environment variable, a parser and a default (or is required). A bad value
stops the process with a message naming the variable, instead of failing on the first request.
``create_app(test_config)`` may pass final values by config key; those skip the environment.
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


@dataclass(frozen=True)
class Setting:
    key: str  # Flask config key
    env: str  # environment variable
    parse: Callable[[str], Any]
    default: Any = None
    required: bool = False
    doc: str = ""


def parse_int(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ValueError(f"expected {minimum}..{maximum}, got {value}")
        return value

    return parse


def parse_float(minimum: float, maximum: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ValueError(f"expected {minimum}..{maximum}, got {value}")
        return value

    return parse


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


def parse_str(raw: str) -> str:
    return raw.strip()


def parse_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError(f"expected an http(s) URL, got {raw!r}")
    return value


def parse_url_list(raw: str) -> tuple[str, ...]:
    return tuple(parse_url(item) for item in raw.split(",") if item.strip())


def parse_networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for item in raw.split(","):
        if item.strip():
            try:
                nets.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not a network: {item.strip()!r}") from None
    return tuple(nets)


# A token is what an HTTP header carries unchanged: visible ASCII, so no whitespace, no control
# and no non-ASCII characters (and no comma: it separates tokens).
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")


def parse_token_list(raw: str) -> tuple[str, ...]:
    """' old , next,' → ("old", "next"); empty entries are ignored.

    The values are secrets: an error names the entry's position, never its value."""
    tokens = []
    for position, item in enumerate(raw.split(","), 1):
        token = item.strip(string.whitespace)
        if not token:
            continue
        if not _TOKEN_RE.fullmatch(token):
            raise ValueError(f"entry {position} is not a token: each token must be printable "
                             "ASCII without whitespace, tokens are separated by commas (the "
                             "value is a secret and not shown)")
        tokens.append(token)
    return tuple(tokens)


def parse_log_level(raw: str) -> str:
    return parse_choice("debug", "info", "warning", "error")(raw).upper()


def load(settings: Iterable[Setting], environ: Mapping[str, str] | None = None,
         overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return {config key: value}; raise ConfigError listing every bad or missing variable."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in settings:
        if setting.key in overrides:
            values[setting.key] = overrides[setting.key]
            continue
        raw = environ.get(setting.env)
        if raw is None or raw.strip() == "":
            if setting.required:
                problems.append(f"{setting.env} is required ({setting.doc})")
            values[setting.key] = setting.default
            continue
        try:
            values[setting.key] = setting.parse(raw)
        except ValueError as exc:
            problems.append(f"{setting.env}: {exc}")
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    return values


PRIVATE_NETWORKS = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"

# Settings every service has.
COMMON = (
    Setting("LOG_LEVEL", "FLASKFLEET_LOG_LEVEL", parse_log_level, "INFO", doc="log level"),
    Setting("MAX_CONTENT_LENGTH", "FLASKFLEET_MAX_BODY_BYTES", parse_int(256, 10 * 1024 * 1024),
            64 * 1024, doc="largest accepted request body in bytes"),
    Setting("OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", parse_url, None,
            doc="OTLP/HTTP endpoint; traces are exported only when set"),
    Setting("OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", parse_url, None,
            doc="full OTLP/HTTP traces URL (overrides OTEL_EXPORTER_OTLP_ENDPOINT)"),
    Setting("INTERNAL_TOKEN", "FLASKFLEET_INTERNAL_TOKEN", parse_str, None,
            doc="shared token internal calls carry in X-Internal-Token (optional)"),
)

# Settings of services that call other services (gateway, order-service).
UPSTREAMS = (
    Setting("DISCOVERY", "FLASKFLEET_DISCOVERY", parse_choice("consul", "static"), "consul",
            doc="consul (health API, passing only) or static (FLASKFLEET_UPSTREAM_<SERVICE>)"),
    Setting("CONSUL_HTTP_ADDR", "CONSUL_HTTP_ADDR", parse_url, "http://127.0.0.1:8500",
            doc="Consul agent HTTP address"),
    Setting("CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN", parse_str, None, doc="Consul ACL token"),
    Setting("DISCOVERY_TTL", "FLASKFLEET_DISCOVERY_TTL", parse_float(0, 300), 5.0,
            doc="seconds a discovery answer is cached"),
    Setting("DISCOVERY_MAX_STALE", "FLASKFLEET_DISCOVERY_MAX_STALE", parse_float(0, 3600), 60.0,
            doc="seconds a cached answer may serve while Consul is unreachable"),
    Setting("UPSTREAM_CONNECT_TIMEOUT", "FLASKFLEET_UPSTREAM_CONNECT_TIMEOUT",
            parse_float(0.01, 30), 0.5, doc="seconds to connect to an instance"),
    Setting("UPSTREAM_READ_TIMEOUT", "FLASKFLEET_UPSTREAM_READ_TIMEOUT", parse_float(0.01, 120),
            5.0, doc="seconds to wait for an instance's answer"),
    Setting("UPSTREAM_RETRIES", "FLASKFLEET_UPSTREAM_RETRIES", parse_int(0, 5), 2,
            doc="extra attempts, on another instance, for idempotent requests only"),
    Setting("UPSTREAM_POOL_SIZE", "FLASKFLEET_UPSTREAM_POOL_SIZE", parse_int(1, 1000), 32,
            doc="pooled keep-alive connections per instance"),
    Setting("UPSTREAM_EJECT_SECONDS", "FLASKFLEET_UPSTREAM_EJECT_SECONDS", parse_float(0, 300),
            5.0, doc="seconds an instance that refused a connection is skipped"),
)

# Settings of services that own a database.
DATABASE = (
    Setting("DATABASE_URL", "DATABASE_URL", parse_str, None, required=True,
            doc="SQLAlchemy URL, postgresql://user:pass@host/db"),
    Setting("DB_POOL_SIZE", "FLASKFLEET_DB_POOL_SIZE", parse_int(1, 200), 10,
            doc="pooled database connections per process"),
)

# Internal services accept calls only from these networks (and with one of these tokens).
INTERNAL = (
    Setting("ALLOWED_NETWORKS", "FLASKFLEET_ALLOWED_NETWORKS", parse_networks,
            parse_networks(PRIVATE_NETWORKS),
            doc="comma-separated CIDRs allowed to call an internal service"),
    Setting("INTERNAL_TOKENS_ACCEPTED", "FLASKFLEET_INTERNAL_TOKENS_ACCEPTED", parse_token_list,
            (), doc="comma-separated tokens accepted in X-Internal-Token besides INTERNAL_TOKEN "
            "(rotation: the previous or the next token); never sent"),
)


def static_upstreams(environ: Mapping[str, str] | None, services: Iterable[str]) -> dict:
    """FLASKFLEET_UPSTREAM_USER_SERVICE=http://a:8000,http://b:8000 → {"user-service": (...)}."""
    environ = os.environ if environ is None else environ
    result = {}
    for service in services:
        env = "FLASKFLEET_UPSTREAM_" + service.upper().replace("-", "_")
        raw = environ.get(env, "")
        try:
            result[service] = parse_url_list(raw)
        except ValueError as exc:
            raise ConfigError(f"invalid configuration: {env}: {exc}") from None
    return result
