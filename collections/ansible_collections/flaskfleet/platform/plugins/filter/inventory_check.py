"""Inventory validation for the preflight play (roles/inventory_check).

inventory_check
    One pass over every host of the inventory, on the controller, touching no host.
    Returns ``{"errors": [...], "warnings": [...]}``, each message naming the variable
    or group and the hosts concerned, never a secret's value:

    * groups that must exist and hold hosts;
    * the number of Consul servers (odd, 1..max; an even count fails unless allowed,
      then it is a warning);
    * variables that a newer version of the platform removed or renamed (the message
      gives the replacement);
    * variables carrying a role prefix (``consul_``, ``traefik_``, ...) that are no
      option of that role's ``meta/argument_specs.yml`` (read at run time; a prefix
      whose roles are not there yet is skipped), with the closest option as a hint;
    * secrets: set, not a placeholder, and of the right shape (gossip key, UUID,
      password, bcrypt htpasswd lines, sha256 digests, ...).

    Only the secrets are templated (the rest reads raw variable names), so a run
    over a production inventory takes well under a second.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from ansible.errors import AnsibleError, AnsibleFilterError
from jinja2 import Undefined
from jinja2.exceptions import UndefinedError

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_BCRYPT_RE = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
_HTPASSWD_RE = re.compile(r"^[^:\s]+:\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
_PLACEHOLDER_RE = re.compile(
    r"change.?me|replace.?me|placeholder|generate.?me|^<.*>$|^x{3,}$|^todo$|^secret$|^password$",
    re.IGNORECASE,
)
_MISSING = object()
# libyaml's loader when present: the specs are parsed 5-10 times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Unresolved(Exception):
    """A variable refers to something undefined (usually a vault variable)."""


def _spec_options(roles_dir: Path, role: str) -> set[str] | None:
    """Top-level options of every entry point of a role; None when it has no specs."""
    spec_file = roles_dir / role / "meta" / "argument_specs.yml"
    if not spec_file.is_file():
        return None
    data = yaml.load(spec_file.read_text(), Loader=_YAML_LOADER) or {}  # noqa: S506 - a safe loader
    options: set[str] = set()
    for entry in (data.get("argument_specs") or {}).values():
        options.update((entry or {}).get("options") or {})
    return options


def _hosts_text(hosts: list[str], total: int) -> str:
    if total > 1 and len(hosts) == total:
        return f"all {total} hosts"
    shown = ", ".join(hosts[:5])
    return shown + (f" and {len(hosts) - 5} more" if len(hosts) > 5 else "")


def _is_placeholder(value: object) -> bool:
    return isinstance(value, str) and bool(_PLACEHOLDER_RE.search(value.strip()))


def _check_password(value: object, min_length: int) -> str | None:
    if not isinstance(value, str) or not value:
        return "is empty or not a string"
    if _is_placeholder(value):
        return "is still a placeholder"
    if len(value) < min_length:
        return f"is shorter than {min_length} characters"
    return None


def _check_gossip_key(value: object, _: int) -> str | None:
    if not isinstance(value, str) or not value:
        return "is empty"
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "is not base64 (`consul keygen` makes one)"
    if len(raw) not in (16, 32):
        return f"decodes to {len(raw)} bytes, not 16 or 32 (`consul keygen` makes one)"
    return None


def _check_uuid(value: object, _: int) -> str | None:
    if not isinstance(value, str) or not _UUID_RE.match(value):
        return "is not a UUID (`uuidgen` makes one)"
    return None


def _check_htpasswd_list(value: object, _: int) -> str | None:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        return "must be a non-empty list of htpasswd lines (`htpasswd -nB <user>`)"
    for index, line in enumerate(value):
        if not isinstance(line, str) or not _HTPASSWD_RE.match(line):
            return f"item {index} is not a `user:<bcrypt hash>` line (`htpasswd -nB <user>`)"
    return None


def _check_sha256_list(value: object, _: int) -> str | None:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        return "must be a non-empty list of {name, sha256}"
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not item.get("name"):
            return f"item {index} has no name"
        if not isinstance(item.get("sha256"), str) or not _SHA256_RE.match(item["sha256"]):
            return f"item {index}: sha256 is not 64 hex digits"
    return None


def _check_password_map(value: object, min_length: int) -> str | None:
    if not isinstance(value, Mapping) or not value:
        return "must be a non-empty mapping of user name to password"
    for user, password in value.items():
        if isinstance(password, str) and _BCRYPT_RE.match(password):
            continue
        problem = _check_password(password, min_length)
        if problem:
            return f"password of {user} {problem}"
    return None


def _check_basic_auth(value: object, min_length: int) -> str | None:
    if not isinstance(value, Mapping) or not value.get("username"):
        return "must be {username, password}"
    problem = _check_password(value.get("password"), min_length)
    return f"password {problem}" if problem else None


def _check_databases(value: object, min_length: int) -> str | None:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        return "must be a non-empty list of {name, owner, password}"
    for index, item in enumerate(value):
        name = item.get("name", index) if isinstance(item, Mapping) else index
        password = item.get("password") if isinstance(item, Mapping) else None
        problem = _check_password(password, min_length)
        if problem:
            return f"[{index}] ({name}): password {problem}"
        previous = item.get("password_previous", "") if isinstance(item, Mapping) else ""
        if previous not in ("", None):
            problem = _check_password(previous, min_length)
            if problem:
                return f"[{index}] ({name}): password_previous {problem}"
            if str(previous) == str(password):
                return (f"[{index}] ({name}): password_previous equals password "
                        "(the new password goes in password, the one in use in password_previous)")
    return None


def _check_token_list(value: object, _: int) -> str | None:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return "must be a list of {name, rules, secret_id}"
    for index, item in enumerate(value):
        name = item.get("name", index) if isinstance(item, Mapping) else index
        secret = item.get("secret_id", _MISSING) if isinstance(item, Mapping) else None
        if secret is not _MISSING and (not isinstance(secret, str) or not _UUID_RE.match(secret)):
            return f"[{index}] ({name}): secret_id is not a UUID (`uuidgen` makes one)"
        previous = item.get("secret_id_previous", "") if isinstance(item, Mapping) else ""
        if previous not in ("", None):
            if not isinstance(previous, str) or not _UUID_RE.match(previous):
                return f"[{index}] ({name}): secret_id_previous is not a UUID"
            if previous == secret:
                return (f"[{index}] ({name}): secret_id_previous equals secret_id "
                        "(the new secret goes in secret_id, the one in use in secret_id_previous)")
    return None


_CHECKS = {
    "password": _check_password,
    "gossip_key": _check_gossip_key,
    "uuid": _check_uuid,
    "htpasswd_list": _check_htpasswd_list,
    "sha256_list": _check_sha256_list,
    "password_map": _check_password_map,
    "basic_auth": _check_basic_auth,
    "databases": _check_databases,
    "token_list": _check_token_list,
}


def _raw_vars(hostvars: Mapping, host: str) -> Mapping:
    raw_get = getattr(hostvars, "raw_get", None)
    data = raw_get(host) if raw_get else hostvars[host]
    if not isinstance(data, Mapping):
        raise AnsibleFilterError(f"no variables for host {host}")
    return data


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _undefined_in(value: object) -> str | None:
    """Why a value (or something inside it) is undefined, None when it is whole."""
    if isinstance(value, Undefined):
        try:
            str(value)
        except (AnsibleError, UndefinedError) as exc:
            return _first_line(exc)
        return "undefined"
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, Sequence) and not isinstance(value, str):
        items = list(value)
    else:
        return None
    return next((found for found in map(_undefined_in, items) if found), None)


def _value(host_vars: Mapping, name: str) -> object:
    """The templated value of a variable, _MISSING when unset, _Unresolved when broken.

    Depending on how it is reached, an undefined reference (a vault variable that does
    not exist) either raises or comes back as an undefined marker: both are _Unresolved.
    """
    if name not in host_vars:
        return _MISSING
    try:
        value = host_vars[name]
        problem = _undefined_in(value)
    except (AnsibleError, UndefinedError) as exc:
        raise _Unresolved(_first_line(exc)) from exc
    if problem:
        raise _Unresolved(problem)
    return value


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


class _Report:
    def __init__(self, total_hosts: int) -> None:
        self.total = total_hosts
        self.problems: dict[tuple[str, str], list[str]] = {}

    def add(self, subject: str, problem: str, host: str) -> None:
        hosts = self.problems.setdefault((subject, problem), [])
        if host not in hosts:
            hosts.append(host)

    def messages(self) -> list[str]:
        return [
            f"{subject} {problem} (on {_hosts_text(hosts, self.total)})"
            for (subject, problem), hosts in sorted(self.problems.items())
        ]


def _check_groups(groups: Mapping, required: Sequence[str]) -> list[str]:
    errors = []
    for group in required:
        if group not in groups:
            errors.append(f"group {group} is missing from the inventory")
        elif not groups[group]:
            errors.append(f"group {group} has no hosts")
    return errors


def _check_consul_count(
    groups: Mapping, group: str, maximum: int, allow_even: bool
) -> tuple[list[str], list[str]]:
    count = len(groups.get(group) or [])
    if count == 0:
        return [], []  # reported by the group check
    if count > maximum:
        return [f"group {group} has {count} hosts: run at most {maximum} Consul servers"], []
    if count % 2 == 0:
        message = (
            f"group {group} has {count} hosts, an even number: Consul needs a majority of "
            f"{count // 2 + 1} and tolerates no more failures than with {count - 1}; use "
            f"{count - 1} or {count + 1} servers"
        )
        if allow_even:
            return [], [message + " (allowed by inventory_check_allow_even_consul_servers)"]
        return [message + " (or set inventory_check_allow_even_consul_servers: true)"], []
    return [], []


def inventory_check(
    hostvars: Mapping,
    groups: Mapping,
    rules: Mapping,
    roles_dir: str,
    required_groups: Sequence[str] = (),
    consul_servers_group: str = "consul_servers",
    consul_servers_max: int = 7,
    allow_even_consul_servers: bool = False,
    min_password_length: int = 16,
) -> dict:
    """Every problem of the inventory, as ``{"errors": [...], "warnings": [...]}``."""
    if not isinstance(rules, Mapping):
        raise AnsibleFilterError("inventory_check: rules must be a mapping")
    roles_path = Path(roles_dir)
    errors = _check_groups(groups, required_groups)
    count_errors, warnings = _check_consul_count(
        groups, consul_servers_group, int(consul_servers_max), _truthy(allow_even_consul_servers)
    )
    errors += count_errors

    prefixes: dict[str, list[str]] = dict(rules.get("prefixes") or {})
    accepted = set(rules.get("accepted") or {})
    known: dict[str, set[str] | None] = {}

    def options_of(prefix: str) -> set[str] | None:
        # Specs are read the first time a variable with their prefix shows up.
        if prefix not in known:
            specs = (_spec_options(roles_path, role) for role in prefixes[prefix])
            found = [options for options in specs if options is not None]
            known[prefix] = set().union(*found) | accepted if found else None
        return known[prefix]

    ordered = sorted(prefixes, key=len, reverse=True)
    removed: Mapping = rules.get("removed") or {}

    hosts = list(groups.get("all") or [])
    report = _Report(len(hosts))
    for host in hosts:
        raw = _raw_vars(hostvars, host)
        facts = raw.get("ansible_facts")
        facts = facts if isinstance(facts, Mapping) else {}
        for name in raw:
            if name in facts:
                continue
            if name in removed:
                report.add(name, f"was removed: {removed[name]}", host)
                continue
            prefix = next((p for p in ordered if name.startswith(p)), None)
            options = options_of(prefix) if prefix else None
            if options is None or name in options:
                continue
            close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]}?" if close else ""
            report.add(name, f"is no option of the {'/'.join(prefixes[prefix])} role{hint}", host)

    templated: dict[str, Mapping] = {}
    for secret in rules.get("secrets") or []:
        name, kind = secret["var"], secret["kind"]
        check = _CHECKS[kind]
        group = secret.get("group", "all")
        members = hosts if group == "all" else list(groups.get(group) or [])
        for host in members:
            if host not in templated:
                templated[host] = hostvars[host]
            host_vars = templated[host]
            try:
                enabled = True
                if secret.get("when"):
                    flag = _value(host_vars, secret["when"])
                    if flag is _MISSING:
                        flag = secret.get("when_default", True)
                    enabled = _truthy(flag)
                if not enabled:
                    continue
                value = _value(host_vars, name)
            except _Unresolved as exc:
                report.add(name, f"cannot be resolved: {exc}", host)
                continue
            if value is _MISSING:
                if secret.get("required", True):
                    hint = secret.get("hint", "see vault.example.yml")
                    report.add(name, f"is not set ({hint})", host)
                continue
            problem = check(value, int(secret.get("min_length", min_password_length)))
            if problem:
                report.add(name, problem, host)
    errors += report.messages()
    return {"errors": errors, "warnings": warnings}


class FilterModule:
    """Inventory validation filters."""

    def filters(self) -> dict:
        return {"inventory_check": inventory_check}
