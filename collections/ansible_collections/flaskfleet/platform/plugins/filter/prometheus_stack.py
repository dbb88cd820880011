"""Filters shared by the prometheus, node_exporter and alertmanager roles.

prometheus_web_config
    Builds the ``--web.config.file`` document of the Prometheus exporter toolkit
    (Prometheus, Alertmanager, node_exporter read the same format): basic-auth
    users with bcrypt hashes and an optional TLS server section.

    Plain passwords (usually vault variables) are hashed with bcrypt. The salt is
    derived from a per-host seed, the user name and the password, so the same
    input renders the same file on every run (idempotence) while two hosts, two
    users or two passwords never share a hash. Values that already are bcrypt
    hashes ($2a$, $2b$, $2y$) are kept as they are.

alertmanager_route_receivers
    Every receiver name an Alertmanager route tree refers to (the route and all
    its child routes, recursively), so a role can refuse a route that names an
    undefined receiver before anything is installed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:
    from passlib.hash import bcrypt as _bcrypt
except ImportError:  # pragma: no cover - reported when the filter is used
    _bcrypt = None

_BCRYPT_RE = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# The 22nd salt character carries only 2 significant bits: use the 4 values bcrypt
# keeps unchanged, so the stored salt is exactly the derived one.
_BCRYPT_LAST = ".Oeu"


def _derived_salt(seed: str, user: str, password: str) -> str:
    digest = hmac.new(
        seed.encode(), f"{user}\0{password}".encode(), hashlib.sha256
    ).digest()
    head = "".join(_BCRYPT_ALPHABET[b % 64] for b in digest[:21])
    return head + _BCRYPT_LAST[digest[21] % 4]


def bcrypt_hash(password: str, seed: str, user: str = "", rounds: int = 10) -> str:
    """Bcrypt hash of ``password`` with a salt derived from seed, user and password."""
    if _BCRYPT_RE.match(password):
        return password
    if _bcrypt is None:
        raise AnsibleFilterError("bcrypt hashing needs passlib on the controller")
    return _bcrypt.using(
        salt=_derived_salt(seed, user, password), rounds=int(rounds), ident="2b"
    ).hash(password)


def prometheus_web_config(
    users: Mapping | None,
    seed: str,
    tls_cert_file: str = "",
    tls_key_file: str = "",
    tls_client_ca_file: str = "",
    rounds: int = 10,
) -> dict:
    """The exporter-toolkit web config for these users and TLS files."""
    users = users or {}
    if not isinstance(users, Mapping):
        raise AnsibleFilterError("basic-auth users must be a mapping of user name to password")
    if not seed:
        raise AnsibleFilterError("prometheus_web_config needs a non-empty seed (the host name)")
    if bool(tls_cert_file) != bool(tls_key_file):
        raise AnsibleFilterError("TLS needs both a certificate file and a key file")
    config: dict = {}
    if tls_cert_file:
        tls = {"cert_file": tls_cert_file, "key_file": tls_key_file, "min_version": "TLS12"}
        if tls_client_ca_file:
            tls["client_ca_file"] = tls_client_ca_file
            tls["client_auth_type"] = "RequireAndVerifyClientCert"
        config["tls_server_config"] = tls
    if users:
        hashed = {}
        for user, password in users.items():
            if not user or not password:
                raise AnsibleFilterError("basic-auth users need a name and a non-empty password")
            hashed[str(user)] = bcrypt_hash(str(password), seed, str(user), rounds)
        config["basic_auth_users"] = hashed
    return config


def alertmanager_route_receivers(route: Mapping | None) -> list[str]:
    """Receiver names referred to by a route and all its child routes, in order."""
    names: list[str] = []
    stack = [route or {}]
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping):
            raise AnsibleFilterError(f"an Alertmanager route must be a mapping, got {node!r}")
        receiver = node.get("receiver")
        if receiver and receiver not in names:
            names.append(str(receiver))
        stack.extend(reversed(list(node.get("routes") or [])))
    return names


class FilterModule:
    """Filters of the Prometheus family of roles."""

    def filters(self) -> dict:
        return {
            "prometheus_web_config": prometheus_web_config,
            "alertmanager_route_receivers": alertmanager_route_receivers,
        }
