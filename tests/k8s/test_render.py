"""Render-only mode: what playbooks/k8s.yml writes, and that it writes it deterministically."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WRITER = REPO / "roles" / "k8s_services" / "files" / "write_manifests.py"
RANKS = yaml.safe_load((REPO / "roles" / "k8s_services" / "vars" / "main.yml").read_text())[
    "__k8s_services_kind_rank"
]


def test_render_writes_one_object_per_file_named_rank_kind_name(rendered):
    for name, manifest in rendered.files.items():
        kind = manifest["kind"]
        assert name == f"{RANKS[kind]}-{kind.lower()}-{manifest['metadata']['name']}.yaml"


def test_render_holds_every_kind_of_the_deployment(rendered):
    kinds = {m["kind"] for m in rendered.files.values()}
    assert kinds == {
        "Namespace",
        "ServiceAccount",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
        "Service",
        "Job",
        "Deployment",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Ingress",
        "ServiceMonitor",
    }
    assert sorted(d["metadata"]["name"] for d in rendered.of_kind("Deployment")) == [
        "api-gateway",
        "order-service",
        "user-service",
    ]


def test_secret_files_are_readable_by_their_owner_only(rendered):
    for name, manifest in rendered.files.items():
        mode = stat.S_IMODE((rendered.directory / name).stat().st_mode)
        assert mode == (0o600 if manifest["kind"] == "Secret" else 0o644), name


def test_secret_values_appear_only_in_secret_files(rendered, render_vars):
    secrets = [
        render_vars["k8s_services_internal_token"],
        "test-only-orders-password",
        *render_vars["k8s_services_api_keys"].values(),
    ]
    for name, manifest in rendered.files.items():
        if manifest["kind"] != "Secret":
            text = (rendered.directory / name).read_text()
            assert not [s for s in secrets if s in text], name


def test_database_url_carries_the_password_url_encoded(rendered):
    url = rendered.get("Secret", "user-service")["stringData"]["DATABASE_URL"]
    assert url == (
        "postgresql://flaskfleet:test-only-db-password%2Fwith%3Aodd%40chars@"
        "postgres.databases.svc.cluster.local:5432/flaskfleet?sslmode=require"
    )
    orders = rendered.get("Secret", "order-service")["stringData"]["DATABASE_URL"]
    assert orders.startswith("postgresql://orders:test-only-orders-password@")
    assert orders.endswith("/orders?sslmode=require")


def test_services_find_each_other_through_kubernetes_services(rendered):
    gateway = rendered.get("ConfigMap", "api-gateway")["data"]
    assert gateway["FLASKFLEET_DISCOVERY"] == "static"
    assert gateway["FLASKFLEET_UPSTREAM_USER_SERVICE"] == "http://user-service:8000"
    assert gateway["FLASKFLEET_UPSTREAM_ORDER_SERVICE"] == "http://order-service:8000"
    assert (
        rendered.get("ConfigMap", "order-service")["data"]["FLASKFLEET_UPSTREAM_USER_SERVICE"]
        == "http://user-service:8000"
    )


def test_migration_jobs_run_flaskfleet_migrate_for_each_database_service(rendered):
    jobs = {
        j["spec"]["template"]["spec"]["containers"][0]["args"][1]: j
        for j in rendered.of_kind("Job")
    }
    assert sorted(jobs) == ["order-service", "user-service"]
    for service, job in jobs.items():
        assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate", service]
        assert re.fullmatch(rf"{service}-migrate-[0-9a-f]{{10}}", job["metadata"]["name"])
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_helm_releases_are_pinned_to_exact_chart_versions(rendered):
    releases = yaml.safe_load((rendered.directory / "helm" / "releases.yaml").read_text())[
        "releases"
    ]
    assert {r["chart"] for r in releases} == {
        "kube-prometheus-stack",
        "jaeger",
        "eck-operator",
    }  # consul off
    for release in releases:
        assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", str(release["version"])), release
        assert release["repo"].startswith("https://")
    prometheus = next(r for r in releases if r["chart"] == "kube-prometheus-stack")
    assert (
        prometheus["values"]["prometheus"]["prometheusSpec"][
            "serviceMonitorSelectorNilUsesHelmValues"
        ]
        is False
    )
    assert "adminPassword" not in json.dumps(prometheus["values"])


def _write(directory, manifests):
    request = {"dir": str(directory), "ranks": RANKS, "manifests": manifests}
    result = subprocess.run(
        [sys.executable, str(WRITER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_rendering_the_same_manifests_again_changes_no_file(rendered, tmp_path):
    manifests = list(rendered.files.values())
    first = _write(tmp_path, manifests)
    assert sorted(first["changed"]) == sorted(rendered.files)
    assert _write(tmp_path, manifests) == {"changed": [], "removed": []}
    assert {p.name: p.read_text() for p in tmp_path.glob("*.yaml")} == {
        n: (rendered.directory / n).read_text() for n in rendered.files
    }


def test_rendering_removes_the_files_of_objects_that_are_gone(rendered, tmp_path):
    manifests = list(rendered.files.values())
    _write(tmp_path, manifests)
    (tmp_path / "README.md").write_text("kept: not a rendered manifest\n")
    result = _write(tmp_path, [m for m in manifests if m["kind"] != "ServiceMonitor"])
    assert sorted(result["removed"]) == sorted(n for n in rendered.files if "-servicemonitor-" in n)
    assert (tmp_path / "README.md").exists()
