"""A bad cluster variable stops playbooks/k8s.yml before anything is written or applied, with a
message naming the variable. Each case is a real render that must fail; they run side by side
to keep the suite short."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

CASES = {
    "replicas_0_while_a_pdb_is_requested": (
        {"k8s_services_replicas": 0},
        "k8s_services_replicas is 0",
    ),
    "pdb_min_available_not_below_replicas": (
        {"k8s_services_overrides": {"user-service": {"pdb_min_available": 2}}},
        "k8s_services_overrides[user-service].pdb_min_available is 2",
    ),
    "cpu_limit_below_request": (
        {"k8s_services_cpu_limit": "50m"},
        "k8s_services_cpu_limit is below k8s_services_cpu_request",
    ),
    "memory_limit_below_request_in_an_override": (
        {"k8s_services_overrides": {"api-gateway": {"memory_limit": "128Mi"}}},
        "k8s_services_overrides[api-gateway].memory_limit is below k8s_services_memory_request",
    ),
    "hpa_max_below_min": (
        {"k8s_services_hpa_max_replicas": 1},
        "k8s_services_hpa_max_replicas (1)",
    ),
    "unknown_service_name": (
        {"k8s_services_services": ["user-service", "billing-service"]},
        "k8s_services_services",
    ),
    "missing_database_password": (
        {"k8s_services_database_password": ""},
        "k8s_services_database_password is missing",
    ),
    "missing_api_keys": ({"k8s_services_api_keys": {}}, "k8s_services_api_keys is missing"),
}


@pytest.fixture(scope="module")
def failed_renders(render, tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")

    def attempt(case):
        directory = base / case / "rendered"
        result = render(directory, CASES[case][0])
        return result, directory

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(attempt, CASES), strict=True))


@pytest.mark.parametrize("case", list(CASES))
def test_bad_variable_fails_naming_it_and_writes_nothing(failed_renders, case):
    result, directory = failed_renders[case]
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output[-3000:]
    assert CASES[case][1] in output, output[-3000:]
    assert not directory.exists(), f"{directory} was created: something was written"
