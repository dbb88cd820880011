"""The grafana role's dashboards: valid, wired to provisioned datasources, real metric names.

Every JSON file in roles/grafana/files/dashboards is checked for the shape Grafana needs (uid,
title, panels with ids, grid positions and targets), every datasource a panel or target names is
one the role's provisioning template defines (same uid and type), and every metric name used in
a PromQL expression (panel targets and template variable queries) is one that is really exposed:
the services' names come from the apps' own code (each service's app is created and its
prometheus_client registry read), the exporters' from EXPORTER_METRICS below.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml
from role_templates import render, role_templar, role_variables

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "grafana"
DASHBOARDS = sorted((ROLE / "files" / "dashboards").glob("*.json"))

# Metric names of the programs the dashboards chart besides the services, as the upstream
# documentation lists them (Prometheus exposition names):
# - Prometheus itself: `up` (https://prometheus.io/docs/concepts/jobs_instances/).
# - Traefik v3: https://doc.traefik.io/traefik/observability/metrics/overview/ (entry point,
#   service and global metrics, prefix "traefik_").
# - Consul: https://developer.hashicorp.com/consul/docs/reference/agent/telemetry (dots become
#   underscores in the Prometheus format, prefix "consul_"; timers are summaries); also checked
#   against the /v1/agent/metrics?format=prometheus output of the Consul 1.8.7 in the mirror.
# - node_exporter: https://github.com/prometheus/node_exporter (cpu, meminfo, filesystem
#   collectors); checked against node_exporter 1.9.0's /metrics in the mirror.
EXPORTER_METRICS = {
    "up",
    # Traefik
    "traefik_entrypoint_requests_total",
    "traefik_entrypoint_request_duration_seconds_bucket",
    "traefik_entrypoint_request_duration_seconds_sum",
    "traefik_entrypoint_request_duration_seconds_count",
    "traefik_service_requests_total",
    "traefik_service_request_duration_seconds_bucket",
    "traefik_service_request_duration_seconds_sum",
    "traefik_service_request_duration_seconds_count",
    "traefik_service_server_up",
    "traefik_open_connections",
    "traefik_config_reloads_total",
    # Consul
    "consul_autopilot_healthy",
    "consul_autopilot_failure_tolerance",
    "consul_raft_apply",
    "consul_raft_commitTime",
    "consul_raft_commitTime_sum",
    "consul_raft_commitTime_count",
    "consul_raft_state_leader",
    "consul_catalog_register",
    "consul_catalog_register_count",
    "consul_catalog_register_sum",
    "consul_rpc_request",
    "consul_runtime_alloc_bytes",
    # node_exporter
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_filesystem_readonly",
    "node_load1",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
}

# PromQL words that look like names but are not metrics.
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                   "unless", "bool", "offset", "inf", "nan"}


@pytest.fixture(scope="module")
def provisioned_datasources() -> dict[str, str]:
    """uid -> type of every datasource the provisioning template defines (all URLs set)."""
    variables = role_variables(ROLE)
    variables.update(ansible_managed="Ansible managed", inventory_hostname="monitoring1",
                     groups={"monitoring": ["m1"], "logging": ["l1"], "tracing": ["t1"]},
                     grafana_elasticsearch_user="grafana", grafana_elasticsearch_password="x")
    source = (ROLE / "templates/etc/grafana/provisioning/datasources/flaskfleet.yaml.j2")
    rendered = render(role_templar(ROLE, **variables), source)
    datasources = yaml.safe_load(rendered)["datasources"]
    return {d["uid"]: d["type"] for d in datasources}


def _sample_names(registry) -> set[str]:
    names = set()
    for family in registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type in ("histogram", "summary"):
            names.update({f"{family.name}_sum", f"{family.name}_count"})
            if family.type == "histogram":
                names.add(f"{family.name}_bucket")
            else:
                names.add(family.name)
        else:
            names.add(family.name)
        names.update(sample.name for sample in family.samples
                     if not sample.name.endswith("_created"))
    return names


@pytest.fixture(scope="module")
def service_metrics(tmp_path_factory) -> set[str]:
    """Metric names each service's app exposes, read from its prometheus_client registry."""
    from flaskfleet_services import api_gateway, order_service, user_service
    from flaskfleet_services.kit.db import Database

    tmp = tmp_path_factory.mktemp("apps")
    nowhere = ("http://127.0.0.1:9",)
    apps = [
        user_service.create_app({"DATABASE_URL": f"sqlite:///{tmp}/users.db", "TESTING": True}),
        order_service.create_app({"DATABASE_URL": f"sqlite:///{tmp}/orders.db", "TESTING": True,
                                  "DISCOVERY": "static",
                                  "STATIC_UPSTREAMS": {"user-service": nowhere}}),
        api_gateway.create_app({"TESTING": True, "DISCOVERY": "static",
                                "STATIC_UPSTREAMS": {"user-service": nowhere,
                                                     "order-service": nowhere},
                                "API_KEYS": (("unit", hashlib.sha256(b"unit").hexdigest()),)}),
    ]
    names: set[str] = set()
    try:
        for app in apps:
            app.test_client().get("/metrics")  # one request: labelled samples exist too
            names |= _sample_names(app.extensions["flaskfleet.metrics"].registry)
    finally:
        Database.dispose_all()
    return names


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (selectors, not functions, labels or keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range and subquery windows
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def test_the_metric_name_extraction() -> None:
    assert promql_metric_names(
        'histogram_quantile(0.95, sum by (service, le) (rate(a_bucket{x="y z"}[$__rate_interval])))'
        " / on (service) group_left b_total offset 5m") == {"a_bucket", "b_total"}


def panels_of(board: dict) -> list[dict]:
    panels = []
    for panel in board["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels") or [])
    return panels


def queries_of(board: dict) -> list[tuple[str, dict, str]]:
    """(where, datasource, PromQL) of every Prometheus query: targets and template variables."""
    found = []
    for panel in panels_of(board):
        for target in panel.get("targets") or []:
            datasource = target.get("datasource") or panel.get("datasource") or {}
            if datasource.get("type") == "prometheus":
                found.append((f"panel {panel['title']!r} {target['refId']}", datasource,
                              target["expr"]))
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") == "query" and (variable.get("datasource") or {}).get(
                "type") == "prometheus":
            query = variable["query"]
            query = query["query"] if isinstance(query, dict) else query
            label_values = re.fullmatch(r"label_values\(\s*(.+?)\s*,\s*\w+\s*\)", query)
            found.append((f"variable {variable['name']}", variable["datasource"],
                          label_values.group(1) if label_values else query))
    return found


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_the_dashboard_is_valid_grafana_json(path: Path) -> None:
    board = json.loads(path.read_text())
    assert re.fullmatch(r"[a-z0-9-]{1,40}", board["uid"])
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)
    panels = panels_of(board)
    assert panels
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        assert panel["title"]
        assert panel["type"]
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert 0 < panel["gridPos"]["w"] + panel["gridPos"]["x"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"panel {panel['title']!r} has no targets"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))


def test_dashboard_uids_are_unique() -> None:
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(DASHBOARDS) >= 2
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_datasource_referenced_is_provisioned(path: Path,
                                                    provisioned_datasources: dict) -> None:
    board = json.loads(path.read_text())
    references = []
    for panel in panels_of(board):
        if panel["type"] == "row":
            continue
        references.append(panel["datasource"])
        references.extend(t["datasource"] for t in panel["targets"] if "datasource" in t)
    references.extend(v["datasource"] for v in board.get("templating", {}).get("list", [])
                      if "datasource" in v)
    assert references
    for reference in references:
        assert reference["uid"] in provisioned_datasources, reference
        assert provisioned_datasources[reference["uid"]] == reference["type"], reference
    assert set(provisioned_datasources) == {"prometheus", "elasticsearch", "jaeger"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_metric_in_a_query_is_exposed(path: Path, service_metrics: set) -> None:
    known = service_metrics | EXPORTER_METRICS
    board = json.loads(path.read_text())
    queries = queries_of(board)
    assert queries
    unknown = {f"{where}: {name}" for where, _, expr in queries
               for name in promql_metric_names(expr) if name not in known}
    assert not unknown, f"metrics nobody exposes: {sorted(unknown)}"


def test_the_service_red_dashboard_covers_rate_errors_and_duration(service_metrics: set) -> None:
    board = json.loads((ROLE / "files/dashboards/service-red.json").read_text())
    used = {name for _, _, expr in queries_of(board) for name in promql_metric_names(expr)}
    assert {"http_requests_total", "http_request_errors_total",
            "http_request_duration_seconds_bucket"} <= used
    assert {"http_requests_total", "http_request_errors_total",
            "http_request_duration_seconds_bucket"} <= service_metrics
