#!/usr/bin/python3
"""Delete Jaeger's daily Elasticsearch indices that are older than the retention.

Installed by the jaeger role as /usr/local/libexec/flaskfleet/jaeger-index-cleaner and run
daily by jaeger-index-cleaner.timer as the jaeger account:

    jaeger-index-cleaner --config /etc/jaeger/index-cleaner.json [--dry-run]
                         [--retention-days N]

The configuration (JSON, written by the role) names what Jaeger itself uses:
``{"urls": [...], "index_prefix": "jaeger", "retention_days": 7, "username": "...",
"password_file": "/etc/jaeger/secrets/elasticsearch_password", "ca_file": "..."}``. The
password is read from ``password_file`` (the file Jaeger's ``auth.basic.password_file``
names); it is never taken from the command line.

Jaeger v2 with its default time-based indices writes ``<prefix>-jaeger-span-YYYY-MM-DD`` and
``<prefix>-jaeger-service-YYYY-MM-DD`` (``indices.index_prefix`` joined with "-", the
default ``date_layout`` 2006-01-02, the UTC day of the span); ``-jaeger-dependencies-`` and
``-jaeger-sampling-`` indices have the same form when something writes them. Those four
kinds are what upstream's jaeger-es-index-cleaner deletes too. An index is deleted when the
date in its NAME is more than ``retention_days`` days before today (UTC): with 7, on
2026-11-27 the indices of 2026-11-19 and earlier go, those of 2026-11-20 to 2026-11-27 stay,
so no span younger than the retention is ever deleted. A name that does not parse
(another prefix, a rollover index ``...-000001``, a date that is no date) is never touched.

Elasticsearch API (the user needs ``view_index_metadata`` (or ``monitor``/``manage``) and
``delete_index`` (or ``manage``) on ``<prefix>-jaeger-*``):
  GET /<prefix>-jaeger-*/_settings   lists the indices (upstream's get index settings API)
  DELETE /<index>                    one request per index
Each request tries the URLs in turn until one answers; a connection error or a 5xx answer
moves on to the next URL, any other error answer is final.

Exit status: 0 when every expired index is gone (or, with --dry-run, listed), 1 when
Elasticsearch could not be reached or refused a request, 2 for a bad configuration or usage.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

KINDS = ("span", "service", "dependencies", "sampling")
TIMEOUT_SECONDS = 120
EX_FAILURE, EX_USAGE = 1, 2


class CleanerError(Exception):
    """Elasticsearch could not be reached or refused a request."""


class ConfigError(Exception):
    """The configuration or the command line is not usable."""


def log(message: str) -> None:
    print(message, flush=True)


def index_base(prefix: str) -> str:
    """The start of every Jaeger index name: Jaeger's IndexPrefix.Apply("jaeger-")."""
    if not prefix:
        return "jaeger-"
    return (prefix if prefix.endswith("-") else prefix + "-") + "jaeger-"


def index_date(name: str, base: str) -> dt.date | None:
    """The UTC day in a daily Jaeger index name, or None when the name is not one."""
    match = re.fullmatch(
        re.escape(base) + r"(?:" + "|".join(KINDS) + r")-(\d{4})-(\d{2})-(\d{2})", name
    )
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def expired(names: list[str], base: str, retention_days: int, today: dt.date) -> list[str]:
    """The names whose date is more than retention_days days before today, sorted."""
    oldest_kept = today - dt.timedelta(days=retention_days)
    return sorted(
        name for name in names if (day := index_date(name, base)) is not None and day < oldest_kept
    )


def load_config(path: Path, retention_override: int | None) -> dict:
    try:
        config = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the configuration {path} is not JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"the configuration {path} must be a JSON object")
    urls = config.get("urls")
    if (
        not isinstance(urls, list)
        or not urls
        or not all(isinstance(u, str) and re.match(r"^https?://[^\s/]+/?$", u) for u in urls)
    ):
        raise ConfigError(f"urls must list http(s)://host:port URLs (got {urls!r})")
    if retention_override is not None:
        config["retention_days"] = retention_override
    retention = config.get("retention_days")
    if isinstance(retention, bool) or not isinstance(retention, int) or retention < 1:
        raise ConfigError(
            f"retention_days must be a whole number of days, at least 1 (got {retention!r}); "
            "0 (keep forever) means the cleaner is not run at all"
        )
    for key in ("index_prefix", "username", "password_file", "ca_file"):
        config.setdefault(key, "")
        if not isinstance(config[key], str):
            raise ConfigError(f"{key} must be a string (got {config[key]!r})")
    if bool(config["username"]) != bool(config["password_file"]):
        raise ConfigError("username and password_file go together")
    return config


class Elasticsearch:
    """A minimal client: basic auth, a CA file, the URLs tried in turn."""

    def __init__(self, config: dict) -> None:
        self.urls = [u.rstrip("/") for u in config["urls"]]
        self.headers = {"Accept": "application/json"}
        if config["username"]:
            try:
                password = Path(config["password_file"]).read_text().rstrip("\r\n")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the password file {config['password_file']}: {exc.strerror}"
                ) from exc
            token = base64.b64encode(f"{config['username']}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        try:
            self.context = (
                ssl.create_default_context(cafile=config["ca_file"])
                if config["ca_file"]
                else ssl.create_default_context()
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the CA file {config['ca_file']}: {exc}") from exc

    def request(self, method: str, path: str) -> tuple[int, object]:
        """(status, JSON body) of the first URL that answers; 4xx answers are returned."""
        failures = []
        for base in self.urls:
            request = urllib.request.Request(  # noqa: S310  the URLs are checked http(s)
                base + path, method=method, headers=self.headers
            )
            try:
                with urllib.request.urlopen(  # noqa: S310
                    request, timeout=TIMEOUT_SECONDS, context=self.context
                ) as response:
                    return response.status, json.loads(response.read() or b"null")
            except urllib.error.HTTPError as exc:
                body = exc.read()
                if exc.code < 500:
                    try:
                        return exc.code, json.loads(body or b"null")
                    except json.JSONDecodeError:
                        return exc.code, body.decode(errors="replace")
                failures.append(f"{base}: HTTP {exc.code} {describe(body)}")
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                failures.append(f"{base}: {reason}")
            except json.JSONDecodeError as exc:
                failures.append(f"{base}: the answer is not JSON ({exc})")
        raise CleanerError(
            f"{method} {path}: no Elasticsearch URL answered: " + "; ".join(failures)
        )


def describe(body: object) -> str:
    """Upstream's error body ({"error": {"type", "reason"}, "status"}) as one line."""
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except json.JSONDecodeError:
            return body.decode(errors="replace")[:300]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return f"{body['error'].get('type')}: {body['error'].get('reason')}"
    return str(body)[:300]


def list_indices(client: Elasticsearch, base: str) -> list[str]:
    pattern = urllib.parse.quote(base + "*", safe="*-_")
    status, body = client.request("GET", f"/{pattern}/_settings?expand_wildcards=open,closed")
    if status == 404 and describe(body).startswith("index_not_found_exception"):
        return []  # upstream answers {} for a wildcard matching nothing; a 404 means the same
    if status != 200 or not isinstance(body, dict):
        hint = (
            f" (the Elasticsearch user needs view_index_metadata, monitor or manage on {base}*)"
            if status == 403
            else ""
        )
        raise CleanerError(f"listing {base}* failed: HTTP {status} {describe(body)}{hint}")
    return sorted(body)


def delete_index(client: Elasticsearch, name: str, base: str) -> bool:
    """True when deleted now, False when it was already gone."""
    status, body = client.request("DELETE", "/" + urllib.parse.quote(name, safe="-_"))
    if status == 200:
        return True
    if status == 404 and describe(body).startswith("index_not_found_exception"):
        return False
    hint = (
        f" (the Elasticsearch user needs the delete_index privilege on {base}*)"
        if status == 403
        else ""
    )
    raise CleanerError(f"deleting {name} failed: HTTP {status} {describe(body)}{hint}")


def run(config: dict, dry_run: bool, today: dt.date) -> int:
    base = index_base(config["index_prefix"])
    retention = config["retention_days"]
    client = Elasticsearch(config)
    names = list_indices(client, base)
    old = expired(names, base, retention, today)
    oldest_kept = today - dt.timedelta(days=retention)
    log(
        f"{len(names)} index(es) match {base}*; retention {retention} day(s): indices dated "
        f"before {oldest_kept.isoformat()} (UTC) go, {len(old)} of them"
        + (" (dry run: nothing is deleted)" if dry_run else "")
    )
    for name in old:
        if dry_run:
            log(f"would delete {name}")
        elif delete_index(client, name, base):
            log(f"deleted {name}")
        else:
            log(f"{name} was already gone")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="jaeger-index-cleaner",
        description="Delete Jaeger's daily Elasticsearch indices older than the retention.",
    )
    parser.add_argument("--config", required=True, type=Path, help="JSON configuration file")
    parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    parser.add_argument(
        "--retention-days", type=int, help="override the configuration's retention_days"
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.retention_days)
        return run(config, args.dry_run, dt.datetime.now(dt.UTC).date())
    except ConfigError as exc:
        print(f"jaeger-index-cleaner: configuration error: {exc}", file=sys.stderr)
        return EX_USAGE
    except CleanerError as exc:
        print(f"jaeger-index-cleaner: {exc}", file=sys.stderr)
        return EX_FAILURE


if __name__ == "__main__":
    sys.exit(main())
