"""The deployment's policy, checked on the rendered manifests: probes, resources, non-root,
a PodDisruptionBudget and an autoscaler per Deployment, and network policies that deny by
default and let only the gateway reach the internal services."""

from __future__ import annotations

import re

import pytest

INTERNAL = ["user-service", "order-service"]
SERVICES = ["user-service", "order-service", "api-gateway"]
_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def _quantity(value) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()
    return float(number) * _UNITS[unit]


def _pod_specs(rendered):
    for kind in ("Deployment", "Job"):
        for workload in rendered.of_kind(kind):
            yield f"{kind}/{workload['metadata']['name']}", workload["spec"]["template"]["spec"]


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _pod_labels(rendered, service):
    return rendered.get("Deployment", service)["spec"]["template"]["metadata"]["labels"]


def test_every_service_container_has_readiness_and_liveness_probes_on_the_health_endpoints(
    rendered,
):
    for deployment in rendered.of_kind("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
            assert container["readinessProbe"]["httpGet"]["port"] == "http"


def test_every_container_has_cpu_and_memory_requests_and_limits_not_below_them(rendered):
    for name, pod in _pod_specs(rendered):
        for container in pod["containers"]:
            resources = container["resources"]
            for resource in ("cpu", "memory"):
                request = _quantity(resources["requests"][resource])
                limit = _quantity(resources["limits"][resource])
                assert 0 < request <= limit, f"{name} {resource}"


def test_every_pod_runs_as_non_root_without_privilege_escalation(rendered):
    for name, pod in _pod_specs(rendered):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(host_namespace), name
        assert all("hostPath" not in volume for volume in pod.get("volumes", [])), name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["runAsNonRoot"] is True, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in context["capabilities"], name
            assert context.get("privileged", False) is False, name
            assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}, name


def test_the_namespace_enforces_the_restricted_pod_security_standard(rendered):
    labels = rendered.get("Namespace", "flaskfleet")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_deployment_has_a_disruption_budget_and_an_autoscaler(rendered):
    for deployment in rendered.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        budgets = [
            p
            for p in rendered.of_kind("PodDisruptionBudget")
            if _selects(p["spec"]["selector"], labels)
        ]
        scalers = [
            h
            for h in rendered.of_kind("HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]
            == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        ]
        assert len(budgets) == 1, name
        assert len(scalers) == 1, name
        assert (
            budgets[0]["spec"]["minAvailable"]
            < scalers[0]["spec"]["minReplicas"]
            <= scalers[0]["spec"]["maxReplicas"]
        )
        # The autoscaler owns the replica count: a deploy never resets it.
        assert "replicas" not in deployment["spec"], name


def test_deployments_roll_without_losing_capacity_and_spread_over_zones_and_nodes(rendered):
    for deployment in rendered.of_kind("Deployment"):
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        keys = {
            c["topologyKey"]
            for c in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        }
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


def test_migration_pods_are_not_behind_any_service(rendered):
    for job in rendered.of_kind("Job"):
        labels = job["spec"]["template"]["metadata"]["labels"]
        for service in rendered.of_kind("Service"):
            assert not _selects({"matchLabels": service["spec"]["selector"]}, labels)


def test_a_default_deny_policy_covers_every_pod_in_both_directions(rendered):
    deny = rendered.get("NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {}
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny
    assert "egress" not in deny


def _ingress_rules(rendered, service):
    labels = _pod_labels(rendered, service)
    return [
        rule
        for policy in rendered.of_kind("NetworkPolicy")
        if "Ingress" in policy["spec"]["policyTypes"]
        and policy["spec"].get("ingress")
        and (policy["spec"]["podSelector"] == {} or _selects(policy["spec"]["podSelector"], labels))
        for rule in policy["spec"]["ingress"]
    ]


def _peer_name(rendered, peer):
    """Which workload or namespace a NetworkPolicyPeer admits ("any" for an open peer)."""
    if set(peer) == {"podSelector"}:
        return next(s for s in SERVICES if _selects(peer["podSelector"], _pod_labels(rendered, s)))
    if set(peer) == {"namespaceSelector"}:
        return (
            "namespace:" + peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        )
    return "any"


@pytest.mark.parametrize(
    ("service", "callers"),
    [
        ("user-service", {"api-gateway", "order-service", "namespace:monitoring"}),
        ("order-service", {"api-gateway", "namespace:monitoring"}),
        ("api-gateway", {"namespace:traefik", "namespace:monitoring"}),
    ],
)
def test_only_the_gateway_reaches_the_internal_services_and_only_the_ingress_the_gateway(
    rendered, service, callers
):
    rules = _ingress_rules(rendered, service)
    assert rules, f"nothing may reach {service}"
    allowed = set()
    for rule in rules:
        assert rule.get("from"), f"{service}: a rule without 'from' admits every source"
        assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
        allowed |= {_peer_name(rendered, peer) for peer in rule["from"]}
    # order-service -> user-service is the one internal call (does the user exist?); Prometheus
    # scrapes /metrics from the monitoring namespace (API routes also require the internal token).
    assert allowed == callers


def test_egress_is_limited_to_dns_upstreams_postgresql_and_otlp(rendered):
    ports = {}
    for policy in rendered.of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            for port in rule["ports"]:
                ports.setdefault(port["port"], []).append(policy["metadata"]["name"])
    assert set(ports) == {53, 8000, 5432, 4318}
    assert sorted(ports[8000]) == [
        "api-gateway-egress",
        "api-gateway-egress",
        "order-service-egress",
    ]
    assert sorted(set(ports[5432])) == [
        "migrations-egress",
        "order-service-egress",
        "user-service-egress",
    ]
    dns = rendered.get("NetworkPolicy", "allow-dns-egress")["spec"]["egress"][0]["to"]
    assert dns[0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}


def test_the_ingress_routes_only_to_the_gateway(rendered):
    ingresses = rendered.of_kind("Ingress")
    assert len(ingresses) == 1
    spec = ingresses[0]["spec"]
    assert spec["ingressClassName"] == "traefik"
    backends = {p["backend"]["service"]["name"] for r in spec["rules"] for p in r["http"]["paths"]}
    assert backends == {"api-gateway"}
