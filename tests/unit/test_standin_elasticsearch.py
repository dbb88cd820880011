"""The Elasticsearch stand-in against the configuration the elasticsearch role renders.

The role's own templates and variables (defaults/main.yml + vars/main.yml) are rendered by
ansible-playbook into a temporary ES_PATH_CONF; the stand-in must accept that configuration,
refuse a misspelled key, a bad JVM option and an unknown flag, and serve the REST subset the
role calls (security, ILM, index template, documents) with authentication enforced.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from local_tls import free_port, write_pki
from source_module import load_source

REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "tests/standins/elasticsearch/elasticsearch_standin.py"
ROLE = REPO / "roles/elasticsearch"
es = load_source("elasticsearch_standin", STANDIN)


def render(role: Path, templates: dict[str, Path], extra: dict) -> None:
    """Render the role's templates with its defaults and vars, as the role does."""
    playbook = extra.pop("_playbook_dir") / "render.yml"
    tasks = [
        {
            "ansible.builtin.template": {
                "src": str(role / "templates" / src),
                "dest": str(dest),
                "mode": "0644",
            }
        }
        for src, dest in templates.items()
    ]
    play = {
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars_files": [str(role / "defaults/main.yml"), str(role / "vars/main.yml")],
        "tasks": tasks,
    }
    playbook.write_text(json.dumps([play]))
    extra["ansible_python_interpreter"] = sys.executable
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false")
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "ansible-playbook"),
            "-i",
            "localhost,",
            str(playbook),
            "-e",
            json.dumps(extra),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ES_PATH_CONF as the role leaves it: its elasticsearch.yml and heap options, the
    distribution's jvm.options and log4j2.properties, certificates under certs/."""
    root = tmp_path_factory.mktemp("es")
    conf = root / "conf"
    (conf / "jvm.options.d").mkdir(parents=True)
    for name in ("jvm.options", "log4j2.properties"):
        shutil.copy(STANDIN.parent / "config" / name, conf / name)
    write_pki(conf / "certs", "elasticsearch")
    for directory in ("data", "logs"):
        (root / directory).mkdir()
    render(
        ROLE,
        {
            "etc/elasticsearch/elasticsearch.yml.j2": conf / "elasticsearch.yml",
            "etc/elasticsearch/jvm.options.d/heap.options.j2": conf / "jvm.options.d/heap.options",
        },
        {
            "_playbook_dir": root,
            "elasticsearch_heap_size": "512m",
            "elasticsearch_data_dir": str(root / "data"),
            "elasticsearch_log_dir": str(root / "logs"),
            "elasticsearch_network_host": ["127.0.0.1"],
            "elasticsearch_http_port": free_port(),
            "elasticsearch_transport_port": free_port(),
        },
    )
    return conf


def run_standin(conf: Path, *args: str, name: str = "elasticsearch") -> subprocess.CompletedProcess:
    link = conf.parent / "bin" / name
    link.parent.mkdir(exist_ok=True)
    if not link.exists():
        link.symlink_to(STANDIN)
    env = dict(os.environ, ES_PATH_CONF=str(conf))
    return subprocess.run(
        [sys.executable, str(link), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=30,
    )


def test_the_rendered_configuration_is_accepted(conf: Path) -> None:
    settings = es.load_config(conf, {})
    options = es.read_jvm_options(conf)
    assert settings["discovery.type"] == "single-node"
    assert settings["xpack.security.http.ssl.enabled"] is True
    assert "-Xms512m" in options
    assert "-Xmx512m" in options


def test_a_misspelled_setting_stops_the_node(conf: Path, tmp_path: Path) -> None:
    bad = tmp_path / "conf"
    shutil.copytree(conf, bad)
    with (bad / "elasticsearch.yml").open("a") as handle:
        handle.write("xpack.security.http.ssl.enabeld: true\n")
    result = run_standin(bad)
    assert result.returncode == es.EX_CONFIG
    assert "unknown setting [xpack.security.http.ssl.enabeld]" in result.stderr
    assert "STAND-IN" in result.stderr


def test_unequal_heap_sizes_and_malformed_jvm_options_are_refused(
    conf: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "conf"
    shutil.copytree(conf, bad)
    (bad / "jvm.options.d/heap.options").write_text("-Xms512m\n-Xmx1g\n")
    with pytest.raises(es.ConfigError, match="initial heap size"):
        es.read_jvm_options(bad)
    (bad / "jvm.options.d/heap.options").write_text("Xmx1g\n")
    with pytest.raises(es.ConfigError, match="improperly formatted JVM option"):
        es.read_jvm_options(bad)


def test_single_node_refuses_initial_master_nodes(conf: Path, tmp_path: Path) -> None:
    bad = tmp_path / "conf"
    shutil.copytree(conf, bad)
    with (bad / "elasticsearch.yml").open("a") as handle:
        handle.write("cluster.initial_master_nodes: [a]\n")
    with pytest.raises(es.ConfigError, match="not allowed when"):
        es.load_config(bad, {})


def test_an_unknown_flag_is_a_usage_error_and_version_says_stand_in(conf: Path) -> None:
    result = run_standin(conf, "--pidfle", "/tmp/x")
    assert result.returncode == es.EX_USAGE
    version = run_standin(conf, "--version")
    assert version.returncode == 0
    assert "STAND-IN" in version.stdout
    assert es.VERSION in version.stdout


def test_keystore_cli_creates_adds_lists_and_removes(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    assert run_standin(conf, "create", name="elasticsearch-keystore").returncode == 0
    link = conf.parent / "bin" / "elasticsearch-keystore"
    env = dict(os.environ, ES_PATH_CONF=str(conf))
    added = subprocess.run(
        [sys.executable, str(link), "add", "--stdin", "--force", "bootstrap.password"],
        input="secret-pw\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    listed = run_standin(conf, "list", name="elasticsearch-keystore")
    assert listed.stdout.split() == ["bootstrap.password", "keystore.seed"]
    assert es.read_keystore(conf)["bootstrap.password"] == "secret-pw"
    assert (
        run_standin(conf, "add", "-x", "no.such.setting", name="elasticsearch-keystore").returncode
        != 0
    )
    assert (
        run_standin(conf, "remove", "bootstrap.password", name="elasticsearch-keystore").returncode
        == 0
    )
    assert "bootstrap.password" not in es.read_keystore(conf)


class Client:
    def __init__(self, base: str, cafile: Path) -> None:
        self.base = base
        self.context = ssl.create_default_context(cafile=str(cafile))

    def __call__(
        self, method: str, path: str, body: object = None, auth: tuple[str, str] | None = None
    ):
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture
def node(conf: Path, tmp_path: Path):
    """The stand-in's REST server in this process, TLS from the rendered settings."""
    settings = es.load_config(conf, {})
    state = es.State(tmp_path, "bootstrap-pw")
    es.Handler.node = es.Node(settings, state, None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), es.Handler)
    server.socket = es.server_context(conf, settings, "http").wrap_socket(
        server.socket, server_side=True
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Client(f"https://127.0.0.1:{server.server_address[1]}", conf / "certs/ca.pem")
    server.shutdown()


def test_authentication_is_enforced_and_passwords_are_set_as_the_role_does(node: Client) -> None:
    status, body = node("GET", "/")
    assert status == 401
    assert body["error"]["type"] == "security_exception"
    assert node("GET", "/", auth=("elastic", "wrong-pw"))[0] == 401
    assert node("GET", "/", auth=("kibana_system", "kibana-pw"))[0] == 401
    status, root = node("GET", "/", auth=("elastic", "bootstrap-pw"))
    assert status == 200
    assert root["version"]["number"] == es.VERSION
    assert (
        node(
            "POST",
            "/_security/user/elastic/_password",
            {"password": "elastic-pw"},
            ("elastic", "bootstrap-pw"),
        )[0]
        == 200
    )
    assert node("GET", "/", auth=("elastic", "bootstrap-pw"))[0] == 401
    admin = ("elastic", "elastic-pw")
    assert (
        node("POST", "/_security/user/kibana_system/_password", {"password": "kibana-pw"}, admin)[0]
        == 200
    )
    status, who = node("GET", "/_security/_authenticate", auth=("kibana_system", "kibana-pw"))
    assert (status, who["roles"]) == (200, ["kibana_system"])


def test_the_writer_role_policy_and_template_route_log_documents(node: Client) -> None:
    admin = ("elastic", "bootstrap-pw")
    role = {
        "cluster": ["manage_index_templates", "monitor", "manage_ilm"],
        "indices": [
            {
                "names": ["flaskfleet-logs-*"],
                "privileges": ["write", "create", "create_index", "manage", "manage_ilm"],
            }
        ],
    }
    assert node("PUT", "/_security/role/logstash_writer", role, admin) == (
        200,
        {"role": {"created": True}},
    )
    status, body = node("PUT", "/_security/role/bad", {"cluster": ["monitr"]}, admin)
    assert status == 400
    assert "unknown cluster privilege [monitr]" in body["error"]["reason"]
    assert node("GET", "/_security/user/logstash_writer", auth=admin) == (404, {})
    user = {"password": "writer-pw", "roles": ["logstash_writer"]}
    assert node("PUT", "/_security/user/logstash_writer", user, admin) == (200, {"created": True})
    policy = {
        "policy": {
            "phases": {
                "hot": {"actions": {"set_priority": {"priority": 100}}},
                "delete": {"min_age": "7d", "actions": {"delete": {}}},
            }
        }
    }
    assert node("PUT", "/_ilm/policy/flaskfleet-logs", policy, admin)[0] == 200
    status, stored = node("GET", "/_ilm/policy/flaskfleet-logs", auth=admin)
    phases = stored["flaskfleet-logs"]["policy"]["phases"]
    assert phases["hot"]["min_age"] == "0ms"
    assert phases["delete"]["actions"]["delete"] == {"delete_searchable_snapshot": True}
    template = {
        "index_patterns": ["flaskfleet-logs-*"],
        "priority": 200,
        "template": {
            "settings": {"index.lifecycle.name": "flaskfleet-logs", "number_of_replicas": 0}
        },
    }
    assert node("PUT", "/_index_template/flaskfleet-logs", template, admin)[0] == 200
    status, got = node("GET", "/_index_template/flaskfleet-logs", auth=admin)
    settings = got["index_templates"][0]["index_template"]["template"]["settings"]
    assert settings == {
        "index": {"lifecycle": {"name": "flaskfleet-logs"}, "number_of_replicas": "0"}
    }
    writer = ("logstash_writer", "writer-pw")
    status, doc = node(
        "POST", "/flaskfleet-logs-2026.11.27/_doc", {"trace_id": "abc", "message": "m"}, writer
    )
    assert (status, doc["result"]) == (201, "created")
    status, denied = node("POST", "/other/_doc", {"message": "m"}, writer)
    assert status == 403
    assert "is unauthorized for user [logstash_writer]" in denied["error"]["reason"]
    status, count = node(
        "POST", "/flaskfleet-logs-*/_count", {"query": {"term": {"trace_id": "abc"}}}, admin
    )
    assert count["count"] == 1
    status, index = node("GET", "/flaskfleet-logs-2026.11.27/_settings", auth=admin)
    assert (
        index["flaskfleet-logs-2026.11.27"]["settings"]["index"]["lifecycle"]["name"]
        == "flaskfleet-logs"
    )
    assert node("GET", "/_cluster/health", auth=admin)[1]["status"] == "green"


def test_bulk_writes_create_documents_update_by_id_and_stay_linear(node: Client) -> None:
    admin = ("elastic", "bootstrap-pw")

    def bulk(lines: list[dict]) -> dict:
        body = "".join(json.dumps(line) + "\n" for line in lines).encode()
        request = urllib.request.Request(
            node.base + "/_bulk",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-ndjson",
                "Authorization": "Basic " + base64.b64encode(b"elastic:bootstrap-pw").decode(),
            },
        )
        with urllib.request.urlopen(request, context=node.context, timeout=60) as response:
            return json.loads(response.read())

    action = {"index": {"_index": "logs-bulk"}}
    batch = [line for n in range(125) for line in (action, {"n": n})]
    started = time.monotonic()
    for _ in range(240):  # 30000 documents, as Logstash sends them (no ids)
        answer = bulk(batch)
        assert not answer["errors"]
    elapsed = time.monotonic() - started
    assert node("POST", "/logs-bulk/_count", {"query": {"match_all": {}}}, admin)[1]["count"] == (
        30000
    )
    # When each document scanned the whole index, these took 34 s here; now 6 s.
    assert elapsed < 20, f"30000 bulk documents took {elapsed:.1f} s"

    by_id = {"index": {"_index": "logs-bulk", "_id": "fixed"}}
    first = bulk([by_id, {"v": 1}])["items"][0]["index"]
    second = bulk([by_id, {"v": 2}])["items"][0]["index"]
    assert (first["result"], first["_version"]) == ("created", 1)
    assert (second["result"], second["_version"]) == ("updated", 2)
    assert node("POST", "/logs-bulk/_count", {"query": {"term": {"v": 2}}}, admin)[1]["count"] == 1
    assert node("POST", "/logs-bulk/_count", {"query": {"term": {"v": 1}}}, admin)[1]["count"] == 0


def test_a_bootstrapping_cluster_config_is_accepted(conf: Path, tmp_path: Path) -> None:
    """Three nodes while the cluster forms: seed hosts on the transport port, initial masters."""
    cluster = tmp_path / "conf"
    shutil.copytree(conf, cluster)
    (cluster / "elasticsearch.yml").unlink()
    render(
        ROLE,
        {"etc/elasticsearch/elasticsearch.yml.j2": cluster / "elasticsearch.yml"},
        {
            "_playbook_dir": tmp_path,
            "__elasticsearch_single_node": False,
            "__elasticsearch_bootstrapping": True,
            "elasticsearch_seed_hosts": ["es-1", "es-2", "es-3"],
            "elasticsearch_initial_master_nodes": ["es-1", "es-2", "es-3"],
        },
    )
    settings = es.load_config(cluster, {})
    assert settings["discovery.seed_hosts"] == ["es-1:9300", "es-2:9300", "es-3:9300"]
    assert settings["cluster.initial_master_nodes"] == ["es-1", "es-2", "es-3"]
    assert "discovery.type" not in settings
