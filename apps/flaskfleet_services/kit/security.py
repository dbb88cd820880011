"""Who may call: API keys at the gateway, the internal network (and token) everywhere else.

API keys are configured as sha256 digests (``FLASKFLEET_API_KEYS=name:hexdigest,...``), never in
clear; a presented key is hashed and compared to every digest in constant time. The internal token
is checked the same way against every accepted token (``FLASKFLEET_INTERNAL_TOKEN`` and, while
it is rotated, ``FLASKFLEET_INTERNAL_TOKENS_ACCEPTED``); callers send ``FLASKFLEET_INTERNAL_TOKEN``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, g, request

from .config import parse_token_list
from .errors import ApiError

INTERNAL_TOKEN_HEADER = "X-Internal-Token"  # noqa: S105  a header name, not a secret
_DIGEST_RE = re.compile(r"[0-9a-f]{64}")
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_api_keys(raw: str) -> tuple[tuple[str, str], ...]:
    """'laptop:<64 hex>,ci:<64 hex>' → (("laptop", digest), ...)."""
    keys = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, digest = item.partition(":")
        digest = digest.strip().lower()
        if not sep or not _NAME_RE.fullmatch(name.strip()) or not _DIGEST_RE.fullmatch(digest):
            raise ValueError("each entry must be NAME:SHA256HEX (flaskfleet hash-api-key makes "
                             "the digest)")
        keys.append((name.strip(), digest))
    if not keys:
        raise ValueError("no API key configured")
    return tuple(keys)


def match_api_key(presented: str, keys: tuple[tuple[str, str], ...]) -> str | None:
    """Name of the key that matches, or None; every digest is compared (constant time)."""
    digest = hash_key(presented)
    found = None
    for name, expected in keys:
        if hmac.compare_digest(digest, expected):
            found = name
    return found


def presented_api_key() -> str | None:
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key") or None


def require_api_key(app: Flask, prefix: str) -> None:
    """Every request under ``prefix`` needs a configured API key."""

    @app.before_request
    def _check_key():
        if not request.path.startswith(prefix):
            return
        key = presented_api_key()
        name = match_api_key(key, app.config["API_KEYS"]) if key else None
        if name is None:
            raise ApiError(401, "unauthorized",
                           "a valid API key is required (Authorization: Bearer <key>)",
                           headers={"WWW-Authenticate": 'Bearer realm="flaskfleet"'})
        g.client_name = name


def internal_tokens(config: Mapping[str, Any]) -> tuple[str, ...]:
    """Every token an internal service accepts: INTERNAL_TOKEN (the one callers send) and
    INTERNAL_TOKENS_ACCEPTED (more, during a rotation). Empty: no token is required."""
    accepted = config.get("INTERNAL_TOKENS_ACCEPTED") or ()
    if isinstance(accepted, str):  # a test config may pass the raw form
        accepted = parse_token_list(accepted)
    return tuple(token for token in (config.get("INTERNAL_TOKEN"), *accepted) if token)


def match_internal_token(presented: str, tokens: Iterable[str]) -> bool:
    """Whether ``presented`` is one of ``tokens``; compared in constant time with every token
    (no early exit on a match, so the time says nothing about which one matched)."""
    digest = hash_key(presented)
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(digest, hash_key(token))
    return matched


def restrict_to_internal(app: Flask, api_prefixes: tuple[str, ...]) -> None:
    """Internal services answer only the internal network, and need an internal token on
    their API when one is configured (INTERNAL_TOKEN or INTERNAL_TOKENS_ACCEPTED)."""

    @app.before_request
    def _check_caller():
        try:
            addr = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
        except ValueError:
            addr = None
        if addr is None or not any(addr in net for net in app.config["ALLOWED_NETWORKS"]):
            raise ApiError(403, "forbidden", "internal service: caller not on an allowed network")
        tokens = internal_tokens(app.config)
        if tokens and request.path.startswith(api_prefixes):
            presented = request.headers.get(INTERNAL_TOKEN_HEADER, "")
            if not match_internal_token(presented, tokens):
                raise ApiError(403, "forbidden", "internal service: missing or wrong "
                               f"{INTERNAL_TOKEN_HEADER}")
