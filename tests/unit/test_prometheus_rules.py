"""The prometheus role's alert rules: rendered from the role's defaults, then checked
and unit-tested with promtool (`promtool test rules`: each alert fires on the data
it is written for, with the labels and text Alertmanager receives).

promtool comes from PATH or from the offline mirror's Prometheus archives (the
harness's mirror stage builds them); without either the promtool tests fail.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

import jinja2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "prometheus"
TEMPLATE = "etc/prometheus/rules/flaskfleet.rules.yml.j2"
MIRROR = REPO / ".cache" / "mirror"


def _to_nice_yaml(value: object, indent: int = 4, sort_keys: bool = True) -> str:
    return yaml.safe_dump(value, indent=indent, sort_keys=sort_keys, default_flow_style=False)


def render(**overrides: object) -> str:
    """Render the rules template the way Ansible does (trim_blocks, its filters)."""
    env = jinja2.Environment(  # noqa: S701 - renders YAML, not HTML
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["comment"] = lambda text: "#\n# " + text + "\n#"
    env.filters["to_nice_yaml"] = _to_nice_yaml
    env.filters["bool"] = bool
    context = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    context.update(ansible_managed="Ansible managed", **overrides)
    return env.get_template(TEMPLATE).render(context)


def _alerts(text: str) -> dict[str, dict]:
    groups = yaml.safe_load(text)["groups"]
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


def test_the_default_rules_cover_availability_errors_latency_disk_and_memory() -> None:
    alerts = _alerts(render())
    assert sorted(alerts) == [
        "DiskSpaceLow", "HighErrorRate", "HighLatency", "InstanceDown", "MemoryLow",
    ]
    assert alerts["InstanceDown"]["expr"] == "up == 0"
    assert "{{ $labels.instance }}" in alerts["InstanceDown"]["annotations"]["summary"]


def test_metric_names_labels_and_thresholds_come_from_the_variables() -> None:
    alerts = _alerts(render(
        prometheus_http_requests_metric="app_requests_total",
        prometheus_http_duration_metric="app_latency_seconds",
        prometheus_http_status_label="code",
        prometheus_alert_error_rate_threshold=0.2,
        prometheus_alert_for={"instance_down": "10s", "error_rate": "1m", "latency": "1m",
                              "disk": "1m", "memory": "1m"},
    ))
    assert 'app_requests_total{code=~"5.."}' in alerts["HighErrorRate"]["expr"]
    assert alerts["HighErrorRate"]["expr"].endswith("> 0.2")
    assert "app_latency_seconds_bucket" in alerts["HighLatency"]["expr"]
    assert alerts["InstanceDown"]["for"] == "10s"


def test_extra_groups_are_appended_or_stand_alone() -> None:
    extra = [{"name": "extra", "rules": [{"record": "job:up:sum", "expr": "sum by (job) (up)"}]}]
    with_defaults = yaml.safe_load(render(prometheus_alert_rules_extra=extra))["groups"]
    assert [g["name"] for g in with_defaults][-1] == "extra"
    alone = yaml.safe_load(render(prometheus_alert_rules_enabled=False,
                                  prometheus_alert_rules_extra=extra))["groups"]
    assert [g["name"] for g in alone] == ["extra"]


@pytest.fixture(scope="module")
def promtool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = shutil.which("promtool")
    if found:
        return Path(found)
    archives = sorted(MIRROR.glob("prometheus-*.linux-amd64.tar.gz"))
    if not archives:
        pytest.fail("no promtool on PATH and no Prometheus archive in .cache/mirror (make mirror)")
    target = tmp_path_factory.mktemp("promtool")
    with tarfile.open(archives[-1]) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/promtool"))
        member.name = "promtool"
        archive.extract(member, target, filter="data")
    return target / "promtool"


def test_promtool_accepts_the_rules(promtool: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(render())
    result = subprocess.run([promtool, "check", "rules", rules],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


TMPFS = 'instance="n1", mountpoint="/run", fstype="tmpfs"'
RULE_TESTS = {
    "rule_files": ["rules.yml"],
    "evaluation_interval": "1m",
    "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": 'up{job="node", instance="n1:9100"}', "values": "1 0 0 0 0 0"},
            {"series": 'http_requests_total{service="orders", status="200"}', "values": "0+90x30"},
            {"series": 'http_requests_total{service="orders", status="500"}', "values": "0+10x30"},
            {"series": 'http_request_duration_seconds_bucket{service="orders", le="0.1"}',
             "values": "0+0x30"},
            {"series": 'http_request_duration_seconds_bucket{service="orders", le="1"}',
             "values": "0+10x30"},
            {"series": 'http_request_duration_seconds_bucket{service="orders", le="+Inf"}',
             "values": "0+10x30"},
            {"series": 'node_memory_MemAvailable_bytes{instance="n1"}', "values": "5x30"},
            {"series": 'node_memory_MemTotal_bytes{instance="n1"}', "values": "100x30"},
            {"series": 'node_filesystem_avail_bytes{instance="n1", mountpoint="/", fstype="ext4"}',
             "values": "5x30"},
            {"series": 'node_filesystem_size_bytes{instance="n1", mountpoint="/", fstype="ext4"}',
             "values": "100x30"},
            {"series": 'node_filesystem_readonly{instance="n1", mountpoint="/", fstype="ext4"}',
             "values": "0x30"},
            # A tmpfs that is full must not alert.
            {"series": f"node_filesystem_avail_bytes{{{TMPFS}}}", "values": "0x30"},
            {"series": f"node_filesystem_size_bytes{{{TMPFS}}}", "values": "100x30"},
            {"series": f"node_filesystem_readonly{{{TMPFS}}}", "values": "0x30"},
        ],
        "alert_rule_test": [
            {"eval_time": "1m", "alertname": "InstanceDown", "exp_alerts": []},
            {"eval_time": "4m", "alertname": "InstanceDown", "exp_alerts": [{
                "exp_labels": {"severity": "critical", "job": "node", "instance": "n1:9100"},
                "exp_annotations": {
                    "summary": "node target n1:9100 is down",
                    "description": "Prometheus could not scrape n1:9100 (job node).",
                },
            }]},
            {"eval_time": "10m", "alertname": "HighErrorRate", "exp_alerts": [{
                "exp_labels": {"severity": "critical", "service": "orders"},
                "exp_annotations": {"summary": "orders: 10% of requests fail with 5xx"},
            }]},
            {"eval_time": "16m", "alertname": "HighLatency", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "service": "orders"},
                "exp_annotations": {"summary": "orders: 95th percentile latency is 955ms"},
            }]},
            {"eval_time": "16m", "alertname": "MemoryLow", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "instance": "n1"},
                "exp_annotations": {"summary": "n1: only 5% of memory available"},
            }]},
            {"eval_time": "16m", "alertname": "DiskSpaceLow", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "instance": "n1", "mountpoint": "/",
                               "fstype": "ext4"},
                "exp_annotations": {"summary": "n1: / has 5% free"},
            }]},
        ],
    }],
}


def test_each_alert_fires_on_the_data_it_is_written_for(promtool: Path, tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(render())
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(RULE_TESTS))
    result = subprocess.run([promtool, "test", "rules", "tests.yml"], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
