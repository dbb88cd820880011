#!/usr/bin/python3
"""Grafana STAND-IN (tests only): packed as ``bin/grafana`` and ``bin/grafana-server`` in
grafana-<v>.linux-amd64.tar.gz.

Grafana cannot be obtained on the test machines. This program takes its place in the Molecule
scenarios and the platform test. It is NOT Grafana: it renders no dashboards and stores nothing;
it checks the files the role writes and answers the HTTP API calls the tests make.

Command line (as upstream):
  grafana server --config <grafana.ini> --homepath <dir> [--pidfile <file>]
  grafana-server --config <grafana.ini> --homepath <dir> [--pidfile <file>]
  grafana --version | grafana-server --version | grafana -v
Flags from https://grafana.com/docs/grafana/latest/setup-grafana/start-restart-grafana/ and
``grafana server --help``. ``--homepath`` must hold conf/defaults.ini, as upstream.

grafana.ini: https://grafana.com/docs/grafana/latest/setup-grafana/configure-grafana/
Real Grafana ignores unknown keys; the stand-in refuses any section or key outside ACCEPTED
below (the set the role writes plus their close neighbours), so a typo in the role's template
fails the test. Values may use ``$__file{path}`` and ``$__env{NAME}`` as upstream.

Provisioning: https://grafana.com/docs/grafana/latest/administration/provisioning/
<provisioning>/datasources/*.yaml and <provisioning>/dashboards/*.yaml are read at start;
keys outside DATASOURCE_FILE_KEYS/DATASOURCE_KEYS/DASHBOARD_FILE_KEYS/PROVIDER_KEYS are refused,
as is a provider path that does not exist or holds a file that is not a dashboard JSON (uid,
title, panels). Values expand ``$VAR``/``${VAR}``, ``$__file{}``, ``$__env{}``; ``$$`` is ``$``.

HTTP API (on [server] http_addr:http_port, default 3000), shapes as upstream
(https://grafana.com/docs/grafana/latest/developers/http_api/):
  GET /api/health                          no authentication
  GET /api/datasources, /api/datasources/uid/<uid>, /api/search, /api/dashboards/uid/<uid>,
      /api/user                            basic auth with [security] admin_user and
                                           admin_password; otherwise 401
  GET /api/datasources/uid/<uid>/health    (basic auth) for a jaeger datasource only: what
                                           Grafana's Jaeger backend does (pkg/tsdb/jaeger,
                                           CheckHealth): GET <url>/api/services with the
                                           datasource's HTTP client settings (jsonData
                                           tlsSkipVerify, tlsAuthWithCACert, tlsAuth (not
                                           serverName);
                                           secureJsonData tlsCACert, tlsClientCert, tlsClientKey:
                                           PEM, e.g. through $__file{}); 200 {"status": "OK"} or
                                           400 {"status": "ERROR", "message"}
"""

from __future__ import annotations

import base64
import configparser
import json
import os
import re
import ssl
import sys
import tempfile
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))

VERSION = "13.1.0"
BANNER = f"grafana version {VERSION} (flaskfleet test STAND-IN, not the real Grafana)"

ANY = None
ACCEPTED = {
    "": {"app_mode", "instance_name"},
    "paths": {"data", "logs", "plugins", "provisioning", "temp_data_lifetime"},
    "server": {"protocol", "http_addr", "http_port", "domain", "root_url",
               "serve_from_sub_path", "enforce_domain", "cert_file", "cert_key",
               "router_logging", "enable_gzip", "min_tls_version"},
    "database": {"type", "path", "host", "name", "user", "password", "ssl_mode", "wal",
                 "max_open_conn", "max_idle_conn"},
    "security": {"admin_user", "admin_password", "admin_email", "secret_key",
                 "disable_gravatar", "cookie_secure", "cookie_samesite",
                 "disable_initial_admin_creation", "allow_embedding",
                 "strict_transport_security", "content_security_policy",
                 "disable_brute_force_login_protection", "x_content_type_options",
                 "x_xss_protection"},
    "users": {"allow_sign_up", "allow_org_create", "auto_assign_org", "auto_assign_org_role",
              "default_theme", "viewers_can_edit"},
    "auth": {"disable_login_form", "disable_signout_menu",
             "login_maximum_inactive_lifetime_duration", "login_maximum_lifetime_duration"},
    "auth.anonymous": {"enabled", "org_name", "org_role", "hide_version"},
    "auth.basic": {"enabled"},
    "analytics": {"reporting_enabled", "check_for_updates", "check_for_plugin_updates",
                  "feedback_links_enabled"},
    "log": {"mode", "level", "filters"},
    "log.console": {"level", "format"},
    "snapshots": {"enabled", "external_enabled"},
    "dashboards": {"versions_to_keep", "min_refresh_interval", "default_home_dashboard_path"},
    "unified_alerting": {"enabled"},
    "alerting": {"enabled"},
    "plugins": {"allow_loading_unsigned_plugins", "enable_alpha"},
    "news": {"news_feed_enabled"},
}
DATASOURCE_FILE_KEYS = {"apiVersion", "datasources", "deleteDatasources", "prune"}
DATASOURCE_KEYS = {"name", "type", "access", "orgId", "uid", "url", "user", "database",
                   "basicAuth", "basicAuthUser", "withCredentials", "isDefault", "jsonData",
                   "secureJsonData", "version", "editable"}
DASHBOARD_FILE_KEYS = {"apiVersion", "providers"}
PROVIDER_KEYS = {"name", "orgId", "folder", "folderUid", "type", "disableDeletion",
                 "updateIntervalSeconds", "allowUiUpdates", "options"}
PROVIDER_OPTION_KEYS = {"path", "foldersFromFilesStructure"}
TYPE_NAMES = {"prometheus": "Prometheus", "elasticsearch": "Elasticsearch", "jaeger": "Jaeger",
              "loki": "Loki", "tempo": "Tempo"}


class ConfigError(Exception):
    pass


def log(message: str) -> None:
    print(f"logger=grafana-standin msg=\"{message}\"", flush=True)


def expand_special(value: str, where: str) -> str:
    def file_value(match):
        path = match.group(1)
        try:
            return Path(path).read_text().strip()
        except OSError as error:
            raise ConfigError(f"{where}: cannot read $__file{{{path}}}: {error}") from error

    value = re.sub(r"\$__file\{([^}]*)\}", file_value, value)
    return re.sub(r"\$__env\{([^}]*)\}", lambda m: os.environ.get(m.group(1), ""), value)


def expand_provisioning(value, where: str):
    """Provisioning files: $__file{}, $__env{}, $VAR/${VAR}; $$ is a literal $."""
    if isinstance(value, dict):
        return {k: expand_provisioning(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [expand_provisioning(v, where) for v in value]
    if not isinstance(value, str):
        return value
    value = expand_special(value, where)
    out = []
    pos = 0
    pattern = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
    for match in pattern.finditer(value):
        out.append(value[pos:match.start()])
        if match.group(0) == "$$":
            out.append("$")
        else:
            out.append(os.environ.get(match.group(1) or match.group(2), ""))
        pos = match.end()
    out.append(value[pos:])
    return "".join(out)


def load_ini(path: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none",
                                       comment_prefixes=(";", "#"), strict=True)
    try:
        text = Path(path).read_text()
        parser.read_string("[\0top]\n" + text, source=path)
    except (OSError, configparser.Error) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    ini: dict[str, dict[str, str]] = {}
    for section in parser.sections():
        name = "" if section == "\0top" else section
        if name not in ACCEPTED:
            raise ConfigError(f"{path}: unknown section [{name}] (accepted by the stand-in: "
                              f"{', '.join(sorted(s for s in ACCEPTED if s))})")
        for key, value in parser.items(section):
            if key not in ACCEPTED[name]:
                raise ConfigError(f"{path}: unknown key '{key}' in [{name}] (accepted: "
                                  f"{', '.join(sorted(ACCEPTED[name]))})")
            ini.setdefault(name, {})[key] = expand_special(value, f"[{name}] {key}")
    return ini


def boolean(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise ConfigError(f"not a boolean: {value}")
    return lowered in ("true", "1", "yes", "on")


def load_yaml_files(directory: Path) -> list[tuple[Path, dict]]:
    import yaml  # vendored

    found = []
    if not directory.is_dir():
        return found
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".yaml", ".yml"):
            continue
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: {error}") from error
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping")
        found.append((path, data))
    return found


def check_keys(data: dict, accepted: set[str], where: str) -> None:
    unknown = sorted(set(data) - accepted)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown} (accepted: {sorted(accepted)})")


def load_datasources(provisioning: Path) -> list[dict]:
    datasources: list[dict] = []
    for path, data in load_yaml_files(provisioning / "datasources"):
        check_keys(data, DATASOURCE_FILE_KEYS, str(path))
        if data.get("apiVersion") != 1:
            raise ConfigError(f"{path}: apiVersion must be 1")
        for item in data.get("datasources") or []:
            check_keys(item, DATASOURCE_KEYS, f"{path}: datasource {item.get('name')}")
            for required in ("name", "type"):
                if not item.get(required):
                    raise ConfigError(f"{path}: a datasource has no {required}")
            datasources.append(expand_provisioning(item, str(path)))
    names = [d["name"] for d in datasources]
    uids = [d.get("uid") for d in datasources if d.get("uid")]
    if len(set(names)) != len(names) or len(set(uids)) != len(uids):
        raise ConfigError("datasource names and uids must be unique")
    if sum(bool(d.get("isDefault")) for d in datasources) > 1:
        raise ConfigError("only one datasource per organization can be marked as default")
    for number, item in enumerate(datasources, 1):
        item["_id"] = number
    return datasources


def load_dashboards(provisioning: Path) -> list[dict]:
    dashboards: list[dict] = []
    for path, data in load_yaml_files(provisioning / "dashboards"):
        check_keys(data, DASHBOARD_FILE_KEYS, str(path))
        if data.get("apiVersion") != 1:
            raise ConfigError(f"{path}: apiVersion must be 1")
        for provider in data.get("providers") or []:
            provider = expand_provisioning(provider, str(path))
            check_keys(provider, PROVIDER_KEYS, f"{path}: provider {provider.get('name')}")
            check_keys(provider.get("options") or {}, PROVIDER_OPTION_KEYS,
                       f"{path}: provider {provider.get('name')} options")
            if provider.get("type", "file") != "file":
                raise ConfigError(f"{path}: only file providers exist")
            folder = Path((provider.get("options") or {}).get("path") or "")
            if not folder.is_dir():
                raise ConfigError(f"{path}: provider {provider.get('name')}: dashboard path "
                                  f"{folder} does not exist")
            for file in sorted(folder.rglob("*.json")):
                try:
                    board = json.loads(file.read_text())
                except (OSError, ValueError) as error:
                    raise ConfigError(f"{file}: not a dashboard JSON: {error}") from error
                if not (isinstance(board, dict) and board.get("uid") and board.get("title")
                        and isinstance(board.get("panels"), list)):
                    raise ConfigError(f"{file}: a dashboard needs uid, title and panels")
                dashboards.append({"board": board, "folder": provider.get("folder") or "",
                                   "file": str(file)})
    uids = [d["board"]["uid"] for d in dashboards]
    if len(set(uids)) != len(uids):
        raise ConfigError(f"dashboard uids must be unique, got {uids}")
    return dashboards


class Handler(BaseHTTPRequestHandler):
    server_version = "grafana-standin"

    def log_message(self, fmt, *args):
        sys.stderr.write("standin-access: " + (fmt % args) + "\n")

    def reply(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorised(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        state = self.server.state
        return state["basic_auth"] and user == state["admin_user"] and \
            password == state["admin_password"]

    def do_GET(self):
        state = self.server.state
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        if path == "/api/health":
            self.reply(200, {"database": "ok", "version": VERSION, "commit": "standin"})
            return
        if not self.authorised():
            self.reply(401, {"message": "Unauthorized", "messageId": "auth.unauthorized",
                             "statusCode": 401})
            return
        if path == "/api/user":
            self.reply(200, {"id": 1, "login": state["admin_user"], "isGrafanaAdmin": True,
                             "orgId": 1})
        elif path == "/api/datasources":
            self.reply(200, [public_datasource(d) for d in state["datasources"]])
        elif path.startswith("/api/datasources/uid/") and path.endswith("/health"):
            uid = path.split("/")[4]
            found = [d for d in state["datasources"] if d.get("uid") == uid]
            if not found:
                self.reply(404, {"message": "Data source not found"})
            else:
                self.reply(*datasource_health(found[0]))
        elif path.startswith("/api/datasources/uid/"):
            uid = path.rsplit("/", 1)[1]
            found = [d for d in state["datasources"] if d.get("uid") == uid]
            if found:
                self.reply(200, public_datasource(found[0]))
            else:
                self.reply(404, {"message": "Data source not found"})
        elif path == "/api/search":
            query = (parse_qs(url.query).get("query") or [""])[0].lower()
            self.reply(200, [search_hit(n, d) for n, d in enumerate(state["dashboards"], 1)
                             if query in d["board"]["title"].lower()])
        elif path.startswith("/api/dashboards/uid/"):
            uid = path.rsplit("/", 1)[1]
            found = [d for d in state["dashboards"] if d["board"]["uid"] == uid]
            if found:
                self.reply(200, {"dashboard": found[0]["board"],
                                 "meta": {"provisioned": True,
                                          "folderTitle": found[0]["folder"]}})
            else:
                self.reply(404, {"message": "Dashboard not found"})
        else:
            self.reply(404, {"message": "Not found (stand-in)"})


def client_tls(item: dict, directory: Path) -> ssl.SSLContext:
    """The datasource's TLS client settings, as Grafana's HTTP client options read them."""
    json_data = item.get("jsonData") or {}
    secure = item.get("secureJsonData") or {}
    if json_data.get("tlsSkipVerify"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif json_data.get("tlsAuthWithCACert"):
        if not secure.get("tlsCACert"):
            raise ValueError("tlsAuthWithCACert is set but secureJsonData.tlsCACert is empty")
        context = ssl.create_default_context(cadata=secure["tlsCACert"])
    else:
        context = ssl.create_default_context()
    if json_data.get("tlsAuth"):
        cert, key = directory / "cert.pem", directory / "key.pem"
        cert.write_text((secure.get("tlsClientCert") or "") + "\n")
        key.write_text((secure.get("tlsClientKey") or "") + "\n")
        context.load_cert_chain(str(cert), str(key))
    return context


def datasource_health(item: dict) -> tuple[int, dict]:
    if item["type"] != "jaeger":
        return 501, {"message": "the stand-in checks the health of jaeger datasources only"}
    url = (item.get("url") or "").rstrip("/") + "/api/services"
    try:
        if (item.get("jsonData") or {}).get("serverName"):
            raise ValueError("the stand-in does not implement jsonData.serverName")
        with tempfile.TemporaryDirectory() as directory:
            context = client_tls(item, Path(directory)) if url.startswith("https://") \
                else None
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                services = json.load(response)["data"]
        log(f"datasource {item['name']}: health check passed ({len(services or [])} services)")
    except (OSError, ValueError, KeyError, ssl.SSLError) as error:
        log(f"datasource {item['name']}: health check failed: {error}")
        return 400, {"status": "ERROR", "message": str(error)}
    return 200, {"status": "OK", "message": "Data source is working"}


def public_datasource(item: dict) -> dict:
    return {
        "id": item["_id"], "uid": item.get("uid", ""), "orgId": item.get("orgId", 1),
        "name": item["name"], "type": item["type"],
        "typeName": TYPE_NAMES.get(item["type"], item["type"]),
        "access": item.get("access", "proxy"), "url": item.get("url", ""),
        "user": item.get("user", ""), "database": item.get("database", ""),
        "basicAuth": bool(item.get("basicAuth")), "basicAuthUser": item.get("basicAuthUser", ""),
        "isDefault": bool(item.get("isDefault")), "jsonData": item.get("jsonData") or {},
        "secureJsonFields": dict.fromkeys(item.get("secureJsonData") or {}, True),
        "readOnly": not item.get("editable", False),
    }


def search_hit(number: int, item: dict) -> dict:
    board = item["board"]
    slug = re.sub(r"[^a-z0-9]+", "-", board["title"].lower()).strip("-")
    return {"id": number, "uid": board["uid"], "title": board["title"],
            "uri": f"db/{slug}", "url": f"/d/{board['uid']}/{slug}", "slug": "",
            "type": "dash-db", "tags": board.get("tags") or [], "isStarred": False,
            "folderTitle": item["folder"]}


def parse_args(argv: list[str], program: str) -> dict:
    args = list(argv)
    if program != "grafana-server":
        if args and args[0] in ("-v", "--version"):
            return {"version": True}
        if not args or args[0] != "server":
            raise ConfigError("usage: grafana server --config <file> --homepath <dir> "
                              "(the stand-in implements the server subcommand only)")
        args.pop(0)
    options = {"config": None, "homepath": None, "pidfile": None, "version": False}
    while args:
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        key = name.lstrip("-")
        if name in ("-v", "--version", "-version"):
            options["version"] = True
        elif key in ("config", "homepath", "pidfile") and name.startswith("-"):
            if not eq:
                if not args:
                    raise ConfigError(f"flag needs an argument: {name}")
                value = args.pop(0)
            options[key] = value
        else:
            raise ConfigError(f"flag provided but not defined: {arg}")
    return options


def main(argv: list[str], program: str) -> int:
    try:
        options = parse_args(argv, program)
        if options["version"]:
            print(BANNER)
            return 0
        homepath = Path(options["homepath"] or ".")
        if not (homepath / "conf/defaults.ini").is_file():
            raise ConfigError(f"could not find config defaults, make sure homepath command "
                              f"line parameter is set or working directory is homepath "
                              f"({homepath})")
        ini = load_ini(options["config"] or str(homepath / "conf/custom.ini"))
        paths = ini.get("paths", {})
        server = ini.get("server", {})
        security = ini.get("security", {})
        provisioning = Path(paths.get("provisioning") or homepath / "conf/provisioning")
        state = {
            "admin_user": security.get("admin_user", "admin"),
            "admin_password": security.get("admin_password", "admin"),
            "basic_auth": boolean(ini.get("auth.basic", {}).get("enabled"), True),
            "datasources": load_datasources(provisioning),
            "dashboards": load_dashboards(provisioning),
        }
        if boolean(ini.get("auth.anonymous", {}).get("enabled"), False):
            raise ConfigError("the stand-in does not implement anonymous access")
        if server.get("protocol", "http") != "http":
            raise ConfigError("the stand-in serves plain http only")
        data_dir = Path(paths.get("data") or homepath / "data")
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "standin-started").write_text(f"{BANNER}\n")
        if options["pidfile"]:
            Path(options["pidfile"]).write_text(f"{os.getpid()}\n")
        host = server.get("http_addr") or "0.0.0.0"  # noqa: S104  Grafana's default
        port = int(server.get("http_port") or 3000)
        httpd = ThreadingHTTPServer((host, port), Handler)
        httpd.daemon_threads = True
        httpd.state = state
        log(f"Starting {BANNER}")
        log(f"provisioned {len(state['datasources'])} datasources, "
            f"{len(state['dashboards'])} dashboards from {provisioning}")
        log(f"HTTP Server Listen address={host}:{port} protocol=http")
        httpd.serve_forever()
        return 0
    except ConfigError as error:
        print(f"Error: ✗ {error} [{BANNER}]", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"Error: ✗ cannot start: {error} [{BANNER}]", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], Path(sys.argv[0]).name))
