"""The Grafana stand-in against the files the grafana role renders.

Renders the role's grafana.ini, datasource and dashboard provisioning templates with Ansible's
templar and the role's defaults and vars (paths moved under a temporary directory), runs the
stand-in (tests/standins/grafana/grafana_standin.py) on them and checks that it serves the
provisioned datasources and dashboards behind basic auth, that the Jaeger datasource reaches the
Jaeger stand-in's query API over mutual TLS with the role's settings (platform CA and client
certificate read through $__file{}), while a Jaeger datasource without a client certificate is
refused, and that it refuses an unknown grafana.ini key or section, an unknown provisioning
key, a dashboard file that is not a dashboard, and an unknown flag.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from local_tls import write_ca_pki
from role_templates import render, role_templar, role_variables
from test_standin_jaeger import _start as start_jaeger
from test_standin_jaeger import _stop as stop_jaeger

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "grafana"
STANDIN = REPO / "tests" / "standins" / "grafana" / "grafana_standin.py"
# Test-only secrets.
PASSWORD = "unit-test-password"
SECRET_KEY = "unit-test-secret-key-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def render_tree(tmp: Path, **overrides) -> tuple[Path, Path]:
    """Write grafana.ini, the secrets, provisioning and dashboards under tmp.

    Returns (grafana.ini, homepath)."""
    etc = tmp / "etc"
    variables = role_variables(ROLE)
    variables.update(
        ansible_managed="Ansible managed",
        inventory_hostname="monitoring1",
        groups={"monitoring": ["monitoring1"], "logging": ["logging1"], "tracing": ["tracing1"]},
        grafana_admin_password=PASSWORD,
        grafana_secret_key=SECRET_KEY,
        grafana_http_addr="127.0.0.1",
        grafana_http_port=_free_port(),
        grafana_elasticsearch_user="grafana",
        grafana_elasticsearch_password="es-pa$word",
        __grafana_secrets_dir=str(etc / "secrets"),
        __grafana_provisioning_dir=str(etc / "provisioning"),
        __grafana_dashboards_dir=str(etc / "dashboards"),
        __grafana_data_dir=str(tmp / "data"),
        __grafana_logs_dir=str(tmp / "log"),
        __grafana_tls_dir=str(etc / "tls"),
    )
    variables.update(overrides)
    templar = role_templar(ROLE, **variables)
    templates = ROLE / "templates" / "etc" / "grafana"
    outputs = {
        "grafana.ini.j2": etc / "grafana.ini",
        "provisioning/datasources/flaskfleet.yaml.j2":
            etc / "provisioning" / "datasources" / "flaskfleet.yaml",
        "provisioning/dashboards/flaskfleet.yaml.j2":
            etc / "provisioning" / "dashboards" / "flaskfleet.yaml",
    }
    for source, dest in outputs.items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(render(templar, templates / source))
    (etc / "secrets").mkdir()
    (etc / "secrets" / "admin_password").write_text(PASSWORD)
    (etc / "secrets" / "secret_key").write_text(SECRET_KEY)
    shutil.copytree(ROLE / "files" / "dashboards", etc / "dashboards")
    # What roles/_pki puts there: the CA and Grafana's client certificate for Jaeger.
    if not (etc / "tls").exists():
        write_ca_pki(etc / "tls", ["jaeger-client"])
    home = tmp / "home"
    (home / "conf").mkdir(parents=True)
    shutil.copy(STANDIN.parent / "defaults.ini", home / "conf" / "defaults.ini")
    return etc / "grafana.ini", home


def port_of(ini: Path) -> int:
    line = next(x for x in ini.read_text().splitlines() if x.startswith("http_port = "))
    return int(line.split("=")[1])


def start(ini: Path, home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(STANDIN), "server", "--config", str(ini), "--homepath", str(home)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_to_exit(ini: Path, home: Path) -> subprocess.CompletedProcess:
    """For configurations the stand-in must refuse: it exits instead of serving."""
    return subprocess.run(
        [sys.executable, str(STANDIN), "server", "--config", str(ini), "--homepath", str(home)],
        capture_output=True, text=True, timeout=20, check=False)


def get(url: str, user: str | None = None, password: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_role_files_are_served_behind_basic_auth(tmp_path: Path) -> None:
    ini, home = render_tree(tmp_path)
    api = f"http://127.0.0.1:{port_of(ini)}/api"
    process = start(ini, home)
    try:
        for _ in range(50):
            try:
                status, health = get(f"{api}/health")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the stand-in did not answer /api/health")
        assert status == 200
        assert health["database"] == "ok"
        assert get(f"{api}/datasources")[0] == 401
        assert get(f"{api}/datasources", "admin", "admin")[0] == 401
        status, datasources = get(f"{api}/datasources", "admin", PASSWORD)
        assert status == 200
        assert {d["uid"]: d["url"] for d in datasources} == {
            "prometheus": "http://monitoring1:9090",
            "elasticsearch": "https://logging1:9200",
            "jaeger": "https://tracing1:16686",
        }
        jaeger = next(d for d in datasources if d["uid"] == "jaeger")
        assert jaeger["jsonData"]["tlsAuth"] is True
        assert jaeger["jsonData"]["tlsAuthWithCACert"] is True
        assert jaeger["secureJsonFields"] == {"tlsCACert": True, "tlsClientCert": True,
                                              "tlsClientKey": True}
        es = next(d for d in datasources if d["uid"] == "elasticsearch")
        assert es["basicAuthUser"] == "grafana"
        assert es["jsonData"]["dataLinks"][0]["url"] == "${__value.raw}"
        status, found = get(f"{api}/search", "admin", PASSWORD)
        assert sorted(d["uid"] for d in found) == ["flaskfleet-overview",
                                                   "flaskfleet-service-red"]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "STAND-IN" in output
    assert PASSWORD not in ini.read_text()
    datasources_file = tmp_path / "etc" / "provisioning" / "datasources" / "flaskfleet.yaml"
    provisioned = datasources_file.read_text()
    assert "PRIVATE KEY" not in provisioned
    assert f"$__file{{{tmp_path}/etc/tls/jaeger-client-key.pem}}" in provisioned


def test_the_jaeger_datasource_reaches_jaeger_over_mutual_tls(tmp_path: Path) -> None:
    pki = tmp_path / "etc" / "tls"
    write_ca_pki(pki, ["jaeger", "jaeger-client"])
    (tmp_path / "jaeger").mkdir()
    jaeger, ports = start_jaeger(tmp_path / "jaeger", __jaeger_tls_dir=str(pki))
    url = f"https://127.0.0.1:{ports['query']}"
    # The same Jaeger, the same CA, but no client certificate.
    no_cert = [{"name": "Jaeger without a client certificate", "type": "jaeger",
                "uid": "jaeger-no-cert", "access": "proxy", "url": url,
                "jsonData": {"tlsAuthWithCACert": True},
                "secureJsonData": {"tlsCACert": f"$__file{{{pki}/ca.pem}}"}}]
    ini, home = render_tree(tmp_path, grafana_jaeger_url=url, grafana_datasources_extra=no_cert)
    api = f"http://127.0.0.1:{port_of(ini)}/api"
    process = start(ini, home)
    try:
        for _ in range(50):
            try:
                get(f"{api}/health")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the stand-in did not answer /api/health")
        status, health = get(f"{api}/datasources/uid/jaeger/health", "admin", PASSWORD)
        assert (status, health["status"]) == (200, "OK"), health
        status, health = get(f"{api}/datasources/uid/jaeger-no-cert/health", "admin", PASSWORD)
        assert (status, health["status"]) == (400, "ERROR"), health
    finally:
        process.terminate()
        process.communicate(timeout=10)
        stop_jaeger(jaeger)


@pytest.mark.parametrize(
    ("extra", "word"),
    [
        ({"server": {"http_prot": 3000}}, "http_prot"),
        ({"securty": {"admin_user": "root"}}, "securty"),
        ({"auth.anonymous": {"enable": True}}, "enable"),
    ],
)
def test_an_unknown_ini_key_or_section_is_refused(tmp_path: Path, extra: dict, word: str) -> None:
    ini, home = render_tree(tmp_path, grafana_ini_extra=extra)
    result = run_to_exit(ini, home)
    assert result.returncode == 1
    assert word in result.stderr
    assert "STAND-IN" in result.stderr


def test_an_unknown_datasource_key_is_refused(tmp_path: Path) -> None:
    extra = [{"name": "Loki", "type": "loki", "uid": "loki", "url": "http://loki:3100",
              "jsonDta": {}}]
    ini, home = render_tree(tmp_path, grafana_datasources_extra=extra)
    result = run_to_exit(ini, home)
    assert result.returncode == 1
    assert "jsonDta" in result.stderr


def test_a_dashboard_file_that_is_not_a_dashboard_is_refused(tmp_path: Path) -> None:
    ini, home = render_tree(tmp_path)
    (tmp_path / "etc" / "dashboards" / "broken.json").write_text('{"title": "no uid"')
    result = run_to_exit(ini, home)
    assert result.returncode == 1
    assert "broken.json" in result.stderr


def test_an_unknown_flag_is_refused_and_version_says_stand_in(tmp_path: Path) -> None:
    ini, _home = render_tree(tmp_path)
    result = subprocess.run([sys.executable, str(STANDIN), "server", "--confg", str(ini)],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 1
    assert "--confg" in result.stderr
    version = subprocess.run([sys.executable, str(STANDIN), "--version"],
                             capture_output=True, text=True, timeout=20, check=False)
    assert "STAND-IN" in version.stdout
