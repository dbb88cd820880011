"""The Jaeger stand-in against the configuration the jaeger role renders.

Renders roles/jaeger/templates/etc/jaeger/config.yaml.j2 with Ansible's templar and the role's
defaults and vars, for each storage backend, and checks that the stand-in
(tests/standins/jaeger/jaeger_standin.py) accepts it (``jaeger validate --config``), refuses a
configuration with an unknown key or a dangling reference and an unknown flag, and, running,
takes a real OTLP/HTTP protobuf trace from the OpenTelemetry SDK and returns it through the
Jaeger query API, served over TLS to clients with a certificate of the CA only (mutual TLS, the
role's default): a client without a certificate, with one of another CA, or speaking plain HTTP
is refused.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from local_tls import write_ca_pki
from role_templates import render, role_templar, role_variables

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "jaeger"
STANDIN = REPO / "tests" / "standins" / "jaeger" / "jaeger_standin.py"
SEND_TRACE = REPO / "molecule" / "jaeger" / "files" / "send_trace.py"


def render_files(tmp_path: Path, **overrides) -> Path:
    """Render config.yaml and sampling.json into tmp_path; return the config path."""
    variables = role_variables(ROLE)
    variables.update(
        ansible_managed="Ansible managed",
        inventory_hostname="tracing1",
        __jaeger_sampling_file=str(tmp_path / "sampling.json"),
        __jaeger_es_password_file=str(tmp_path / "es_password"),
    )
    variables.update(overrides)
    templar = role_templar(ROLE, **variables)
    sampling = render(templar, "{{ __jaeger_sampling | to_nice_json }}")
    (tmp_path / "sampling.json").write_text(sampling)
    source = (ROLE / "templates" / "etc" / "jaeger" / "config.yaml.j2").read_text()
    config = tmp_path / "config.yaml"
    config.write_text(render(templar, source))
    return config


def standin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(STANDIN), *args], capture_output=True,
                          text=True, timeout=30, check=False)


@pytest.mark.parametrize("backend", ["memory", "badger", "elasticsearch"])
def test_the_role_configuration_is_valid_for_each_backend(tmp_path: Path, backend: str) -> None:
    (tmp_path / "es_password").write_text("test-only-password")
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = render_files(
        tmp_path,
        jaeger_storage_backend=backend,
        jaeger_elasticsearch_urls=["https://logging1:9200"],
        jaeger_elasticsearch_username="jaeger",
        jaeger_elasticsearch_password="test-only-password",
        jaeger_elasticsearch_ca_file=str(tmp_path / "ca.pem"),
        jaeger_sampling_service_strategies=[{"service": "api-gateway",
                                             "type": "probabilistic", "param": 0.5}],
    )
    result = standin("validate", "--config", str(config))
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(config.read_text())
    assert list(rendered["extensions"]["jaeger_storage"]["backends"]["primary"]) == [backend]
    assert rendered["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    assert rendered["extensions"]["jaeger_query"]["http"]["endpoint"] == "0.0.0.0:16686"
    assert rendered["extensions"]["healthcheckv2"]["http"]["endpoint"] == "0.0.0.0:13133"
    # Mutual TLS on the query API (HTTP and gRPC) by default; the OTLP receivers stay as they are.
    tls = {"cert_file": "/etc/jaeger/tls/jaeger.pem", "key_file": "/etc/jaeger/tls/jaeger-key.pem",
           "client_ca_file": "/etc/jaeger/tls/ca.pem"}
    assert rendered["extensions"]["jaeger_query"]["http"]["tls"] == tls
    assert rendered["extensions"]["jaeger_query"]["grpc"] == {"endpoint": "0.0.0.0:16685",
                                                              "tls": tls}
    assert "tls" not in rendered["receivers"]["otlp"]["protocols"]["http"]


@pytest.mark.parametrize(
    ("enabled", "client_auth", "expected"),
    [
        (False, True, None),
        (True, False, {"cert_file", "key_file"}),
    ],
)
def test_the_query_tls_settings_follow_the_variables(tmp_path: Path, enabled: bool,
                                                     client_auth: bool, expected) -> None:
    config = render_files(tmp_path, jaeger_query_tls_enabled=enabled,
                          jaeger_query_tls_client_auth=client_auth)
    assert standin("validate", "--config", str(config)).returncode == 0
    query = yaml.safe_load(config.read_text())["extensions"]["jaeger_query"]
    for protocol in ("http", "grpc"):
        tls = query[protocol].get("tls")
        assert (set(tls) if tls else None) == expected


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (("extensions", "jaeger_query"), "htpp"),
        (("processors", "batch"), "timeoutt"),
        (("extensions", "jaeger_storage", "backends", "primary", "memory"), "max_trace"),
        (("receivers", "otlp", "protocols"), "thrift_http"),
        ((), "exporter"),
        (("extensions", "jaeger_query", "http", "tls"), "client_ca"),
    ],
)
def test_an_unknown_key_is_refused(tmp_path: Path, path: tuple, key: str) -> None:
    config = render_files(tmp_path)
    data = yaml.safe_load(config.read_text())
    node = data
    for part in path:
        node = node[part]
    node[key] = {"endpoint": "x"} if key != "timeoutt" else "1s"
    config.write_text(yaml.safe_dump(data))
    result = standin("validate", "--config", str(config))
    assert result.returncode == 1
    assert key in result.stderr
    assert "STAND-IN" in result.stderr


def test_a_pipeline_naming_an_undefined_component_is_refused(tmp_path: Path) -> None:
    config = render_files(tmp_path)
    data = yaml.safe_load(config.read_text())
    data["service"]["pipelines"]["traces"]["processors"] = ["batch", "memory_limiter"]
    config.write_text(yaml.safe_dump(data))
    result = standin("validate", "--config", str(config))
    assert result.returncode == 1
    assert "memory_limiter" in result.stderr


def test_an_unknown_flag_is_refused_and_version_says_stand_in(tmp_path: Path) -> None:
    config = render_files(tmp_path)
    result = standin("--config", str(config), "--query.base-path=/jaeger")
    assert result.returncode == 1
    assert "unknown flag" in result.stderr
    version = standin("--version")
    assert version.returncode == 0
    assert "STAND-IN" in version.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str, context: ssl.SSLContext | None = None) -> dict:
    with urllib.request.urlopen(url, timeout=5, context=context) as response:
        return json.load(response)


def _client(pki: Path, cert: str | None) -> ssl.SSLContext:
    """A client trusting pki's CA, presenting <cert>.pem (from the directory of cert) if given."""
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert is not None:
        cert_path = Path(cert) if "/" in cert else pki / cert
        context.load_cert_chain(f"{cert_path}.pem", f"{cert_path}-key.pem")
    return context


def _start(tmp_path: Path, **overrides) -> tuple[subprocess.Popen, dict]:
    """Render the role's configuration on free loopback ports and run the stand-in on it."""
    ports = {name: _free_port() for name in ("grpc", "http", "query", "qgrpc", "health",
                                             "sampling")}
    config = render_files(
        tmp_path,
        jaeger_listen_host="127.0.0.1",
        jaeger_otlp_grpc_port=ports["grpc"],
        jaeger_otlp_http_port=ports["http"],
        jaeger_query_port=ports["query"],
        jaeger_query_grpc_port=ports["qgrpc"],
        jaeger_health_port=ports["health"],
        jaeger_sampling_port=ports["sampling"],
        **overrides,
    )
    process = subprocess.Popen([sys.executable, str(STANDIN), "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(50):
        try:
            health = _get_json(f"http://127.0.0.1:{ports['health']}/status")
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"the stand-in exited: {process.communicate()[0]}")
            time.sleep(0.1)
    else:
        process.terminate()
        pytest.fail("the stand-in did not answer its health check")
    assert health["status"] == "StatusOK"
    return process, ports


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=10)
    return output


def test_an_otlp_trace_comes_back_through_the_query_api(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    write_ca_pki(pki, ["jaeger", "client"])
    process, ports = _start(tmp_path, __jaeger_tls_dir=str(pki))
    try:
        sent = subprocess.run(
            [sys.executable, str(SEND_TRACE), f"http://127.0.0.1:{ports['http']}/v1/traces",
             "unit"], capture_output=True, text=True, timeout=60, check=True)
        trace_id = sent.stdout.strip()
        query = f"https://127.0.0.1:{ports['query']}/api"
        client = _client(pki, "client")
        trace = _get_json(f"{query}/traces/{trace_id}", client)["data"][0]
        spans = {s["operationName"]: s for s in trace["spans"]}
        assert trace["traceID"] == trace_id
        assert set(spans) == {"GET /api/orders", "GET /orders"}
        parent, child = spans["GET /api/orders"], spans["GET /orders"]
        assert child["references"] == [
            {"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent["spanID"]}]
        assert trace["processes"][parent["processID"]]["serviceName"] == "unit-gateway"
        assert trace["processes"][child["processID"]]["serviceName"] == "unit-orders"
        assert _get_json(f"{query}/services", client)["data"] == ["unit-gateway", "unit-orders"]
        found = _get_json(f"{query}/traces?service=unit-orders", client)["data"]
        assert [t["traceID"] for t in found] == [trace_id]
    finally:
        output = _stop(process)
    assert "STAND-IN" in output
    assert "client certificate required" in output


def test_the_query_api_refuses_clients_without_a_certificate_of_the_ca(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    write_ca_pki(pki, ["jaeger", "client"])
    other = tmp_path / "other"
    write_ca_pki(other, ["intruder"], ca_name="another CA")
    process, ports = _start(tmp_path, __jaeger_tls_dir=str(pki))
    services = f"https://127.0.0.1:{ports['query']}/api/services"
    try:
        # A certificate from the CA works.
        assert _get_json(services, _client(pki, "client"))["data"] == []
        # No client certificate: the handshake is refused.
        with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
            _get_json(services, _client(pki, None))
        # A certificate signed by another CA: refused as well.
        with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
            _get_json(services, _client(pki, str(other / "intruder")))
        # Plain HTTP on the TLS port gets no answer.
        with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
            _get_json(f"http://127.0.0.1:{ports['query']}/api/services")
        # The refused handshakes did not stop the server.
        assert _get_json(services, _client(pki, "client"))["data"] == []
    finally:
        output = _stop(process)
    assert "TLS handshake error" in output


def test_without_client_auth_tls_needs_no_client_certificate(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    write_ca_pki(pki, ["jaeger"])
    process, ports = _start(tmp_path, __jaeger_tls_dir=str(pki),
                            jaeger_query_tls_client_auth=False)
    try:
        url = f"https://127.0.0.1:{ports['query']}/api/services"
        assert _get_json(url, _client(pki, None))["data"] == []
    finally:
        _stop(process)


def test_a_missing_certificate_file_stops_the_start(tmp_path: Path) -> None:
    config = render_files(tmp_path, jaeger_listen_host="127.0.0.1",
                          jaeger_query_port=_free_port(), jaeger_health_port=_free_port(),
                          jaeger_otlp_http_port=_free_port(), jaeger_otlp_grpc_port=_free_port(),
                          jaeger_sampling_port=_free_port(),
                          __jaeger_tls_dir=str(tmp_path / "missing"))
    result = standin("--config", str(config))
    assert result.returncode == 1
    assert "failed to load TLS config" in result.stderr
