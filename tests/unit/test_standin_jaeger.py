"""The Jaeger stand-in against the configuration the jaeger role renders.

Renders roles/jaeger/templates/etc/jaeger/config.yaml.j2 with Ansible's templar and the role's
defaults and vars, for each storage backend, and checks that the stand-in
(tests/standins/jaeger/jaeger_standin.py) accepts it (``jaeger validate --config``), refuses a
configuration with an unknown key or a dangling reference and an unknown flag, and, running,
takes a real OTLP/HTTP protobuf trace from the OpenTelemetry SDK and returns it through the
Jaeger query API.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
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


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (("extensions", "jaeger_query"), "htpp"),
        (("processors", "batch"), "timeoutt"),
        (("extensions", "jaeger_storage", "backends", "primary", "memory"), "max_trace"),
        (("receivers", "otlp", "protocols"), "thrift_http"),
        ((), "exporter"),
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


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_an_otlp_trace_comes_back_through_the_query_api(tmp_path: Path) -> None:
    ports = {name: _free_port() for name in ("grpc", "http", "query", "health", "sampling")}
    config = render_files(
        tmp_path,
        jaeger_listen_host="127.0.0.1",
        jaeger_otlp_grpc_port=ports["grpc"],
        jaeger_otlp_http_port=ports["http"],
        jaeger_query_port=ports["query"],
        jaeger_health_port=ports["health"],
        jaeger_sampling_port=ports["sampling"],
    )
    process = subprocess.Popen([sys.executable, str(STANDIN), "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(50):
            try:
                health = _get_json(f"http://127.0.0.1:{ports['health']}/status")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the stand-in did not answer its health check")
        assert health["status"] == "StatusOK"
        sent = subprocess.run(
            [sys.executable, str(SEND_TRACE), f"http://127.0.0.1:{ports['http']}/v1/traces",
             "unit"], capture_output=True, text=True, timeout=60, check=True)
        trace_id = sent.stdout.strip()
        query = f"http://127.0.0.1:{ports['query']}/api"
        trace = _get_json(f"{query}/traces/{trace_id}")["data"][0]
        spans = {s["operationName"]: s for s in trace["spans"]}
        assert trace["traceID"] == trace_id
        assert set(spans) == {"GET /api/orders", "GET /orders"}
        parent, child = spans["GET /api/orders"], spans["GET /orders"]
        assert child["references"] == [
            {"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent["spanID"]}]
        assert trace["processes"][parent["processID"]]["serviceName"] == "unit-gateway"
        assert trace["processes"][child["processID"]]["serviceName"] == "unit-orders"
        assert _get_json(f"{query}/services")["data"] == ["unit-gateway", "unit-orders"]
        found = _get_json(f"{query}/traces?service=unit-orders")["data"]
        assert [t["traceID"] for t in found] == [trace_id]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "STAND-IN" in output
