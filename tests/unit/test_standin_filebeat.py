"""The Filebeat stand-in against the filebeat.yml the filebeat role renders.

Renders the role's template (Ansible's templar, the role's defaults and vars), then runs the
stand-in (tests/standins/filebeat) the way the role does: ``test config`` accepts the
rendered file and refuses an unknown key, an unknown input type, a bad verification mode, a
group-writable file and a single-dash long flag; run as a service next to the Logstash
stand-in, it ships a Docker json-file log line over mutual TLS and the line arrives parsed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from role_templates import render as render_template
from role_templates import role_templar, role_variables, trusted
from test_standin_logstash import STANDIN as LOGSTASH
from test_standin_logstash import free_port, write_pki
from test_standin_logstash import render as render_logstash
from test_standin_logstash import role_vars as logstash_vars

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "filebeat"
STANDIN = REPO / "tests" / "standins" / "filebeat" / "filebeat_standin.py"


def render(root: Path, **overrides) -> str:
    variables = role_variables(ROLE)
    variables.update(
        groups={"logging": ["localhost"], "all": ["localhost", "app-1"]},
        inventory_hostname="app-1",
        ansible_managed="Ansible managed",
        __filebeat_tls_dir=str(root / "tls"),
        __filebeat_logs_dir=str(root / "logs"),
    )
    variables.update(overrides)
    return render_template(role_templar(ROLE, **variables),
                           ROLE / "templates" / "etc" / "filebeat" / "filebeat.yml.j2")


@pytest.fixture
def lab(tmp_path: Path) -> dict:
    write_pki(tmp_path / "tls", ["filebeat", "logstash"])
    config = tmp_path / "filebeat.yml"
    config.write_text(render(tmp_path))
    config.chmod(0o640)
    return {"root": tmp_path, "config": config}


def filebeat(lab: dict, *args: str) -> subprocess.CompletedProcess:
    root = lab["root"]
    return subprocess.run(
        [
            sys.executable,
            str(STANDIN),
            *args,
            "-c",
            str(lab["config"]),
            "--path.home",
            str(root),
            "--path.config",
            str(root),
            "--path.data",
            str(root / "data"),
            "--path.logs",
            str(root / "logs"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_rendered_config_passes_test_config(lab) -> None:
    result = filebeat(lab, "test", "config")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Config OK"


def test_the_version_says_it_is_a_stand_in() -> None:
    result = subprocess.run(
        [sys.executable, str(STANDIN), "version"], capture_output=True, text=True, check=False
    )
    assert "9.5.7" in result.stdout
    assert "STAND-IN" in result.stdout


def test_the_rendered_config_is_what_the_variables_say(lab) -> None:
    config = yaml.safe_load(lab["config"].read_text())
    assert config["output.logstash"]["hosts"] == ["localhost:5044"]
    assert config["output.logstash"]["ssl.verification_mode"] == "full"
    types = [i["type"] for i in config["filebeat.inputs"]]
    assert types == ["filestream", "journald"]
    assert config["filebeat.inputs"][0]["parsers"] == [
        {"container": {"stream": "all", "format": "docker"}}
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("loadbalance: true", "loadbalnce: true"),
            "setting 'output.logstash.loadbalnce' is not known",
        ),
        (("type: journald", "type: journal"), "No such input type exist: 'journal'"),
        (
            ("ssl.verification_mode: full", "ssl.verification_mode: fulll"),
            "unknown verification mode",
        ),
        (("seek: cursor", "sek: cursor"), "setting 'sek' is not known for a journald input"),
        (("stream: all", "strem: all"), "is not known for parser container"),
    ],
)
def test_a_bad_key_or_value_fails_test_config(lab, edit: tuple[str, str], message: str) -> None:
    text = lab["config"].read_text()
    assert edit[0] in text
    lab["config"].write_text(text.replace(edit[0], edit[1], 1))
    result = filebeat(lab, "test", "config")
    assert result.returncode == 1
    assert message in result.stderr


def test_a_group_writable_config_is_refused(lab) -> None:
    lab["config"].chmod(0o660)
    result = filebeat(lab, "test", "config")
    assert result.returncode == 1
    assert "can only be writable by the owner" in result.stderr


def test_single_dash_long_flags_are_refused(lab) -> None:
    result = subprocess.run(
        [sys.executable, str(STANDIN), "test", "config", "-path.home", "/x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "unknown flag: -path.home" in result.stderr


def wait_for(url: str, seconds: float = 10) -> dict:
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.load(response)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def test_a_container_log_line_reaches_logstash_over_mutual_tls(tmp_path: Path) -> None:
    # Logstash stand-in with the logstash role's rendered files.
    ls_root = tmp_path / "logstash"
    api_port, beats_port, http_port = free_port(), free_port(), free_port()
    variables = logstash_vars(
        logstash_api_port=api_port, logstash_beats_host="127.0.0.1", logstash_beats_port=beats_port
    )
    for key in ("__logstash_config_dir", "__logstash_data_dir", "__logstash_logs_dir"):
        variables[key] = trusted(str(ls_root / variables[key].lstrip("/")))
    settings = Path(variables["__logstash_config_dir"])
    (settings / "conf.d").mkdir(parents=True)
    write_pki(settings / "tls", ["logstash", "filebeat"])
    for name in ("logstash.yml", "pipelines.yml"):
        (settings / name).write_text(render_logstash(f"etc/logstash/{name}.j2", variables))
    with (settings / "logstash.yml").open("a") as handle:
        handle.write("allow_superuser: true\n")
    (settings / "conf.d" / "flaskfleet.conf").write_text(
        render_logstash("etc/logstash/conf.d/flaskfleet.conf.j2", variables)
    )

    # Filebeat stand-in with the filebeat role's rendered file, sharing the CA.
    fb_root = tmp_path / "filebeat"
    (fb_root / "tls").mkdir(parents=True)
    for name in ("ca.pem", "filebeat.pem", "filebeat-key.pem"):
        (fb_root / "tls" / name).write_bytes((settings / "tls" / name).read_bytes())
    containers = tmp_path / "containers" / "abc123"
    containers.mkdir(parents=True)
    config = fb_root / "filebeat.yml"
    config.write_text(
        render(
            fb_root,
            filebeat_logstash_hosts=[f"localhost:{beats_port}"],
            filebeat_container_log_paths=[str(tmp_path / "containers" / "*" / "*-json.log")],
            filebeat_journald_enabled=False,
            filebeat_http_port=http_port,
            filebeat_scan_interval="1s",
        )
    )
    config.chmod(0o640)
    line = {
        "ts": "2026-11-27T09:30:00.500+00:00",
        "level": "error",
        "service": "user-service",
        "logger": "flaskfleet",
        "message": "db down",
        "pid": 1,
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
        "request_id": "r-9",
    }
    docker_line = json.dumps(
        {"log": json.dumps(line) + "\n", "stream": "stderr", "time": "2026-11-27T09:30:00.600Z"}
    )
    # Filebeat 9 identifies files by fingerprint: nothing is read below 1024 bytes.
    (containers / "abc123-json.log").write_text((docker_line + "\n") * 8)

    env = {**os.environ, "LOGSTASH_ELASTICSEARCH_PASSWORD": "x"}
    logstash = subprocess.Popen(
        [sys.executable, str(LOGSTASH), "--path.settings", str(settings)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shipper = None
    try:
        wait_for(f"http://127.0.0.1:{api_port}/")
        shipper = subprocess.Popen(
            [
                sys.executable,
                str(STANDIN),
                "-e",
                "-c",
                str(config),
                "--path.home",
                str(fb_root),
                "--path.data",
                str(fb_root / "data"),
                "--path.logs",
                str(fb_root / "logs"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        info = wait_for(f"http://127.0.0.1:{http_port}/")
        assert info["beat"] == "filebeat"
        events_file = Path(variables["__logstash_data_dir"]) / "standin" / "events.ndjson"
        deadline = time.time() + 20
        while not (events_file.exists() and len(events_file.read_text().splitlines()) >= 8):
            assert time.time() < deadline, "the events did not arrive"
            time.sleep(0.2)
        record = json.loads(events_file.read_text().splitlines()[0])
        doc = record["_source"]
        assert record["_standin"]["tls_peer"]["status"] == "verified"
        assert record["_index"] == "flaskfleet-logs-2026.11.27"
        assert doc["trace_id"] == line["trace_id"]
        assert doc["span_id"] == line["span_id"]
        assert doc["request_id"] == "r-9"
        assert doc["service"] == "user-service"
        assert doc["level"] == "error"
        assert doc["message"] == "db down"
        assert doc["stream"] == "stderr"
        assert doc["@timestamp"] == "2026-11-27T09:30:00.500Z"
        assert doc["host"]["name"] == "app-1"
        assert doc["log"]["file"]["path"].endswith("abc123-json.log")
        # The shipper counts a batch as acked when Logstash's ACK frame comes back,
        # which can be a moment after Logstash has written the events.
        deadline = time.time() + 10
        while True:
            stats = wait_for(f"http://127.0.0.1:{http_port}/stats")
            if stats["libbeat"]["output"]["events"]["acked"] >= 8 or time.time() > deadline:
                break
            time.sleep(0.2)
        assert stats["libbeat"]["output"]["events"]["acked"] == 8
    finally:
        for process in (shipper, logstash):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
