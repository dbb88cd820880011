"""The Logstash stand-in against the configuration the logstash role renders.

Renders logstash.yml, pipelines.yml, jvm.options and the pipeline from the role's templates
(Ansible's templar, the role's defaults and vars), then runs the stand-in
(tests/standins/logstash) the way the role does: ``--config.test_and_exit`` accepts the
rendered pipeline and refuses a misspelled option, an unknown plugin, an obsolete option, an
unknown setting, an unknown flag and an undefined ${VAR}; as a service it answers the node
API and takes Lumberjack v2 events over mutual TLS, which come out parsed with the index name
and reach Elasticsearch (a recording HTTPS server here) in bulk requests with the credentials.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from role_templates import render as render_template
from role_templates import role_templar, role_variables, trusted

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "logstash"
STANDIN = REPO / "tests" / "standins" / "logstash" / "logstash_standin.py"
sys.path.insert(0, str(REPO / "molecule" / "logstash" / "files"))
import lumberjack_send  # noqa: E402  test client shared with the Molecule verify

PASSWORD_ENV = {"LOGSTASH_ELASTICSEARCH_PASSWORD": "unit-test-password"}


def role_vars(**overrides) -> dict:
    variables = role_variables(ROLE)
    variables.update(
        groups={"logging": ["logs-1"], "all": ["logs-1"]},
        inventory_hostname="logs-1",
        ansible_facts={"default_ipv4": {"address": "10.0.0.5"}},
        ansible_managed="Ansible managed",
        logstash_elasticsearch_password="unit-test-password",
    )
    variables.update(overrides)
    return variables


def render(template: str, variables: dict) -> str:
    return render_template(role_templar(ROLE, **variables), ROLE / "templates" / template)


def _cert(name: str, key, issuer=None, issuer_key=None, ca: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(name),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def write_pki(directory: Path, names: list[str]) -> None:
    """A CA and, per name, <name>.pem and <name>-key.pem (PKCS#8), as roles/_pki lays them out."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("unit test CA", ca_key, ca=True)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name in names:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(name, key, issuer=ca, issuer_key=ca_key)
        (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (directory / f"{name}-key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab(tmp_path: Path):
    """The role's files rendered into a temporary root, paths rewritten under it."""
    root = tmp_path
    api_port, beats_port = free_port(), free_port()
    variables = role_vars(
        logstash_api_port=api_port,
        logstash_beats_host="127.0.0.1",
        logstash_beats_port=beats_port,
        logstash_heap_size="512m",
    )
    for key in ("__logstash_config_dir", "__logstash_data_dir", "__logstash_logs_dir"):
        variables[key] = trusted(str(root / variables[key].lstrip("/")))
    settings = Path(variables["__logstash_config_dir"])
    (settings / "conf.d").mkdir(parents=True)
    write_pki(settings / "tls", ["logstash", "client"])
    for name in ("logstash.yml", "pipelines.yml", "jvm.options"):
        (settings / name).write_text(render(f"etc/logstash/{name}.j2", variables))
    # Tests run as root here; Logstash 9 (and the stand-in) refuse root without this.
    with (settings / "logstash.yml").open("a") as handle:
        handle.write("allow_superuser: true\n")
    pipeline = settings / "conf.d" / "flaskfleet.conf"
    pipeline.write_text(render("etc/logstash/conf.d/flaskfleet.conf.j2", variables))
    return {
        "root": root,
        "settings": settings,
        "pipeline": pipeline,
        "vars": variables,
        "api_port": api_port,
        "beats_port": beats_port,
        "data": Path(variables["__logstash_data_dir"]),
    }


def run_standin(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # The venv's Python has PyYAML, which the stand-in vendors on the test hosts.
    return subprocess.run(
        [sys.executable, str(STANDIN), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **PASSWORD_ENV, **(env or {})},
        timeout=60,
        check=False,
    )


def config_test(lab, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_standin(
        "--path.settings",
        str(lab["settings"]),
        "--path.data",
        str(lab["root"] / "check"),
        "--path.logs",
        str(lab["root"] / "logs"),
        "--config.test_and_exit",
        "-f",
        str(lab["pipeline"]),
        *extra,
        env=env,
    )


def test_the_rendered_pipeline_passes_the_config_test(lab) -> None:
    result = config_test(lab)
    assert result.returncode == 0, result.stderr
    assert "Configuration OK" in result.stdout
    assert "STAND-IN" in result.stdout


def test_the_version_says_it_is_a_stand_in() -> None:
    result = run_standin("--version")
    assert result.returncode == 0
    assert "9.5.7" in result.stdout
    assert "STAND-IN" in result.stdout


@pytest.mark.parametrize(
    ("extra_filters", "message"),
    [
        ('mutate { renmae => { "a" => "b" } }', "Unknown setting 'renmae' for mutate"),
        ('mutat { rename => { "a" => "b" } }', "Couldn't find any filter plugin named 'mutat'"),
        ('json { target => "x" }', "Missing a required setting for the json filter plugin"),
        ('date { match => ["ts"] }', "match must be an array"),
        ("mutate { rename => { ", "Expected '=>'"),
    ],
)
def test_a_bad_extra_filter_fails_the_config_test(lab, extra_filters: str, message: str) -> None:
    variables = dict(lab["vars"], logstash_pipeline_extra_filters=extra_filters)
    lab["pipeline"].write_text(render("etc/logstash/conf.d/flaskfleet.conf.j2", variables))
    result = config_test(lab)
    assert result.returncode == 1
    assert message in result.stderr


def test_an_obsolete_beats_option_is_refused(lab) -> None:
    text = lab["pipeline"].read_text().replace("ssl_enabled => true", "ssl => true", 1)
    lab["pipeline"].write_text(text)
    result = config_test(lab)
    assert result.returncode == 1
    assert "The setting `ssl` in plugin `beats` is obsolete" in result.stderr


def test_an_unknown_setting_in_logstash_yml_is_refused(lab) -> None:
    with (lab["settings"] / "logstash.yml").open("a") as handle:
        handle.write("api.http.prot: 9601\n")
    result = config_test(lab)
    assert result.returncode == 1
    assert 'Setting "api.http.prot" doesn\'t exist' in result.stderr


def test_an_unknown_flag_is_refused(lab) -> None:
    result = config_test(lab, "--config.test-and-exit")
    assert result.returncode == 1
    assert "Unrecognised option '--config.test-and-exit'" in result.stderr


def test_an_undefined_password_variable_is_refused(lab) -> None:
    result = config_test(lab, env={"LOGSTASH_ELASTICSEARCH_PASSWORD": ""})
    assert result.returncode == 0  # defined, even if empty
    env = {k: v for k, v in os.environ.items() if k != "LOGSTASH_ELASTICSEARCH_PASSWORD"}
    result = subprocess.run(
        [
            sys.executable,
            str(STANDIN),
            "--path.settings",
            str(lab["settings"]),
            "--path.data",
            str(lab["root"] / "check"),
            "--config.test_and_exit",
            "-f",
            str(lab["pipeline"]),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 1
    assert "Cannot evaluate `${LOGSTASH_ELASTICSEARCH_PASSWORD}`" in result.stderr


def test_root_is_refused_without_allow_superuser(lab) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    text = (lab["settings"] / "logstash.yml").read_text().replace("allow_superuser: true\n", "")
    (lab["settings"] / "logstash.yml").write_text(text)
    result = config_test(lab)
    assert result.returncode == 1
    assert "cannot be run as superuser" in result.stderr


@contextlib.contextmanager
def running_standin(lab):
    """The stand-in as a service, once its node API and its Beats port answer."""
    env = {**os.environ, **PASSWORD_ENV, "LS_JVM_OPTS": str(lab["settings"] / "jvm.options")}
    process = subprocess.Popen(
        [sys.executable, str(STANDIN), "--path.settings", str(lab["settings"])],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{lab['api_port']}"
        for _ in range(50):
            try:
                with urllib.request.urlopen(base + "/", timeout=1) as response:
                    root = json.load(response)
                socket.create_connection(("127.0.0.1", lab["beats_port"]), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the node API or the Beats input did not answer")
        yield base, root
    finally:
        process.terminate()
        process.wait(timeout=10)


def access_log_event(request_id: str) -> dict:
    """A Filebeat event carrying one of the services' JSON access log lines."""
    line = json.dumps(
        {
            "ts": "2026-11-27T10:00:00.123+00:00",
            "level": "info",
            "service": "order-service",
            "logger": "flaskfleet.access",
            "message": "GET /orders 200",
            "pid": 7,
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "span_id": "00f067aa0ba902b7",
            "request_id": request_id,
        }
    )
    return {
        "@timestamp": "2026-11-27T10:00:01.000Z",
        "message": line,
        "host": {"name": "app-1"},
        "@metadata": {"beat": "filebeat"},
    }


def test_the_service_answers_the_api_and_takes_events_over_mutual_tls(lab) -> None:
    with running_standin(lab) as (base, root):
        assert root["status"] == "green"
        assert root["version"] == "9.5.7"
        with urllib.request.urlopen(base + "/_node/jvm", timeout=2) as response:
            assert json.load(response)["jvm"]["mem"]["heap_max_in_bytes"] == 512 << 20
        with urllib.request.urlopen(base + "/_node/pipelines", timeout=2) as response:
            assert "main" in json.load(response)["pipelines"]

        tls = lab["settings"] / "tls"
        event = access_log_event("req-1")
        with pytest.raises((OSError, ConnectionError)):
            lumberjack_send.send(
                "127.0.0.1",
                lab["beats_port"],
                str(tls / "ca.pem"),
                [event],
                server_name="localhost",
                timeout=3,
            )
        acked = lumberjack_send.send(
            "127.0.0.1",
            lab["beats_port"],
            str(tls / "ca.pem"),
            [event, event],
            cert=str(tls / "client.pem"),
            key=str(tls / "client-key.pem"),
            server_name="localhost",
        )
        assert acked == 2
        records = [
            json.loads(x)
            for x in (lab["data"] / "standin" / "events.ndjson").read_text().splitlines()
        ]
        assert len(records) == 2
        doc = records[0]["_source"]
        assert records[0]["_index"] == "flaskfleet-logs-2026.11.27"
        assert records[0]["_standin"]["tls_peer"]["status"] == "verified"
        assert doc["@timestamp"] == "2026-11-27T10:00:00.123Z"
        assert doc["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert doc["span_id"] == "00f067aa0ba902b7"
        assert doc["request_id"] == "req-1"
        assert doc["service"] == "order-service"
        assert doc["level"] == "info"
        assert doc["message"] == "GET /orders 200"
        assert "ts" not in doc
        with urllib.request.urlopen(base + "/_node/stats/events", timeout=2) as response:
            assert json.load(response)["events"]["out"] == 2


def test_events_reach_elasticsearch_in_bulk_requests_of_at_most_125_with_credentials(
    lab,
) -> None:
    tls = lab["settings"] / "tls"
    requests: list[tuple[str, str | None, list[str]]] = []

    class Bulk(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            requests.append((self.path, self.headers.get("Authorization"), body.splitlines()))
            answer = b'{"took": 1, "errors": false, "items": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bulk)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls / "logstash.pem", tls / "logstash-key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The pipeline's output points at this server (its certificate is from the lab's CA).
    pipeline = lab["pipeline"].read_text()
    hosts = f'hosts => ["https://localhost:{server.server_address[1]}"]'
    lab["pipeline"].write_text(re.sub(r"hosts => \[[^\]]*\]", hosts, pipeline, count=1))
    try:
        with running_standin(lab):
            events = [access_log_event(f"req-{n}") for n in range(300)]
            acked = lumberjack_send.send(
                "127.0.0.1",
                lab["beats_port"],
                str(tls / "ca.pem"),
                events,
                cert=str(tls / "client.pem"),
                key=str(tls / "client-key.pem"),
                server_name="localhost",
            )
            assert acked == 300
            for _ in range(100):
                if sum(len(lines) for _path, _auth, lines in requests) >= 600:
                    break
                time.sleep(0.1)
    finally:
        server.shutdown()
    sizes = [len(lines) // 2 for _path, _auth, lines in requests]
    assert sum(sizes) == 300, f"documents per bulk request: {sizes}"
    assert max(sizes) <= 125
    assert len(requests) < 300, "one bulk request per event: the output does not batch"
    token = base64.b64encode(b"logstash_writer:unit-test-password").decode()
    assert {(path, auth) for path, auth, _lines in requests} == {("/_bulk", f"Basic {token}")}
    ids = [json.loads(line)["request_id"] for *_rest, lines in requests for line in lines[1::2]]
    assert sorted(ids) == sorted(f"req-{n}" for n in range(300))
    actions = {line for *_rest, lines in requests for line in lines[0::2]}
    assert actions == {json.dumps({"index": {"_index": "flaskfleet-logs-2026.11.27"}})}
