"""The Kibana stand-in against the kibana.yml the kibana role renders.

The role's template and variables are rendered by ansible-playbook; the stand-in must accept
that file, refuse a misspelled key, a short encryption key and the elastic superuser as its
Elasticsearch user, and (in process, against the Elasticsearch stand-in) report its status,
check credentials through Elasticsearch and provision data views.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from source_module import load_source
from test_standin_elasticsearch import conf as es_conf  # noqa: F401  (fixture reused)
from test_standin_elasticsearch import es, free_port, render, write_pki

REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "tests/standins/kibana/kibana_standin.py"
ROLE = REPO / "roles/kibana"
kb = load_source("kibana_standin", STANDIN)


@pytest.fixture(scope="module")
def kibana_yml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kibana")
    write_pki(root / "certs", "kibana")
    (root / "data").mkdir()
    rendered = root / "kibana.yml"
    render(
        ROLE,
        {"etc/kibana/kibana.yml.j2": rendered},
        {
            "_playbook_dir": root,
            "kibana_elasticsearch_hosts": ["https://127.0.0.1:9200"],
            "kibana_elasticsearch_password": "kibana-pw",
            "kibana_security_encryption_key": "s" * 32,
            "kibana_saved_objects_encryption_key": "o" * 32,
            "kibana_reporting_encryption_key": "r" * 32,
            "kibana_data_dir": str(root / "data"),
            "kibana_server_port": free_port(),
            "__kibana_certs_dir": str(root / "certs"),
        },
    )
    return rendered


def with_changes(source: Path, target: Path, changes: dict) -> Path:
    data = yaml.safe_load(source.read_text())
    data.update(changes)
    target.write_text(yaml.safe_dump(data))
    return target


def run_standin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(STANDIN), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_the_rendered_configuration_is_accepted(kibana_yml: Path) -> None:
    settings = kb.load_config([kibana_yml])
    assert settings["elasticsearch.username"] == "kibana_system"
    assert settings["elasticsearch.hosts"] == ["https://127.0.0.1:9200"]
    assert settings["server.ssl.enabled"] is True


def test_a_misspelled_key_stops_kibana(kibana_yml: Path, tmp_path: Path) -> None:
    bad = with_changes(
        kibana_yml, tmp_path / "kibana.yml", {"elasticsearch.hots": ["https://x:9200"]}
    )
    result = run_standin("--config", str(bad))
    assert result.returncode == kb.EX_USAGE
    assert 'Unknown configuration key(s): "elasticsearch.hots"' in result.stderr


def test_short_encryption_keys_and_the_elastic_user_are_refused(
    kibana_yml: Path, tmp_path: Path
) -> None:
    short = with_changes(kibana_yml, tmp_path / "a.yml", {"xpack.security.encryptionKey": "x" * 31})
    with pytest.raises(kb.ConfigError, match="minimum length of \\[32\\]"):
        kb.load_config([short])
    superuser = with_changes(kibana_yml, tmp_path / "b.yml", {"elasticsearch.username": "elastic"})
    with pytest.raises(kb.ConfigError, match='value of "elastic" is forbidden'):
        kb.load_config([superuser])


def test_flags_are_the_upstream_ones_and_version_says_stand_in() -> None:
    assert run_standin("--conf", "x").returncode == kb.EX_USAGE
    version = run_standin("--version")
    assert version.returncode == 0
    assert "STAND-IN" in version.stdout


def call(base: str, context, method: str, path: str, auth=None, body=None, xsrf=True):
    headers = {"Content-Type": "application/json"}
    if xsrf:
        headers["kbn-xsrf"] = "test"
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_status_auth_and_data_views_against_the_elasticsearch_stand_in(
    es_conf: Path,  # noqa: F811
    kibana_yml: Path,
    tmp_path: Path,
) -> None:
    settings = es.load_config(es_conf, {})
    state = es.State(tmp_path, None)
    state.data["users"]["elastic"] = {"reserved": True, "password": es.hash_password("elastic-pw")}
    state.data["users"]["kibana_system"] = {
        "reserved": True,
        "password": es.hash_password("kibana-pw"),
    }
    es.Handler.node = es.Node(settings, state, None)
    es_server = ThreadingHTTPServer(("127.0.0.1", 0), es.Handler)
    es_server.socket = es.server_context(es_conf, settings, "http").wrap_socket(
        es_server.socket, server_side=True
    )
    threading.Thread(target=es_server.serve_forever, daemon=True).start()
    config = with_changes(
        kibana_yml,
        tmp_path / "kibana.yml",
        {
            "elasticsearch.hosts": [f"https://127.0.0.1:{es_server.server_address[1]}"],
            "elasticsearch.ssl.certificateAuthorities": [str(es_conf / "certs/ca.pem")],
        },
    )
    kibana_settings = kb.load_config([config])
    kb.Handler.settings = kibana_settings
    kb.Handler.es = kb.Elasticsearch(kibana_settings)
    kb.Handler.views = kb.DataViews(Path(kibana_settings["path.data"]))
    (Path(kibana_settings["path.data"]) / "uuid").write_text("test-uuid")
    threading.Thread(target=kb.Handler.es.watch, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), kb.Handler)
    certs = Path(kibana_settings["server.ssl.certificate"]).parent
    context = kb.ssl.create_default_context(cafile=str(certs / "ca.pem"))
    server_ctx = kb.ssl.SSLContext(kb.ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(
        kibana_settings["server.ssl.certificate"], kibana_settings["server.ssl.key"]
    )
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"https://127.0.0.1:{server.server_address[1]}"
    admin = ("elastic", "elastic-pw")
    try:
        for _ in range(50):
            status, body = call(base, context, "GET", "/api/status")
            if status == 200:
                break
            time.sleep(0.1)
        assert body == {"status": {"overall": {"level": "available"}}}
        status, full = call(base, context, "GET", "/api/status", admin)
        assert full["version"]["number"] == kb.VERSION
        assert full["status"]["core"]["elasticsearch"]["level"] == "available"
        assert call(base, context, "GET", "/api/data_views")[0] == 401
        assert call(base, context, "GET", "/api/data_views", ("elastic", "wrong"))[0] == 401
        view = {
            "data_view": {"id": "logs", "title": "flaskfleet-logs-*", "timeFieldName": "@timestamp"}
        }
        assert (
            call(base, context, "POST", "/api/data_views/data_view", admin, view, xsrf=False)[0]
            == 400
        )
        assert call(base, context, "GET", "/api/data_views/data_view/logs", admin)[0] == 404
        status, created = call(base, context, "POST", "/api/data_views/data_view", admin, view)
        assert (status, created["data_view"]["title"]) == (200, "flaskfleet-logs-*")
        assert call(base, context, "POST", "/api/data_views/data_view", admin, view)[0] == 409
        status, listed = call(base, context, "GET", "/api/data_views", admin)
        assert [v["id"] for v in listed["data_view"]] == ["logs"]
        typo = {"data_view": {"title": "x-*", "timeField": "@timestamp"}}
        assert call(base, context, "POST", "/api/data_views/data_view", admin, typo)[0] == 400
    finally:
        server.shutdown()
        es_server.shutdown()
