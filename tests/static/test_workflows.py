"""The GitHub Actions workflows: lint-clean (actionlint, zizmor), actions pinned to exact
releases, and the same commands as .ci/run (Makefile stages, the Molecule harness)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert path, f"{name} is not installed (requirements-test.txt)"
    return str(path)


def _steps(workflow: dict):
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_there_is_a_ci_workflow():
    assert REPO / ".github" / "workflows" / "ci.yml" in WORKFLOWS


def test_actionlint_finds_nothing_in_the_workflows():
    result = subprocess.run(
        [_tool("actionlint"), "-no-color", *map(str, WORKFLOWS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_zizmor_finds_nothing_in_the_workflows():
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", "--format", "plain", *map(str, WORKFLOWS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_an_exact_release(path):
    for job, step in _steps(_load(path)):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v[0-9]+\.[0-9]+\.[0-9]+", step["uses"]), (
                job,
                step,
            )


def test_the_stage_jobs_run_the_commands_of_ci_run():
    workflow = _load(REPO / ".github" / "workflows" / "ci.yml")
    runs = {
        job: " ".join(s.get("run", "") for _, s in _steps({"jobs": {job: spec}}))
        for job, spec in workflow["jobs"].items()
    }
    assert "make lint" in runs["lint"]
    assert "make unit" in runs["unit"]
    assert "make apps" in runs["apps"]
    assert "tests/harness/test.sh bootstrap image mirror" in runs["molecule"]
    assert 'tests/harness/molecule.sh "$SCENARIO"' in runs["molecule"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(
        r"^image mirror lint unit apps:\n\ttests/harness/test.sh bootstrap \$@$", makefile, re.M
    )
    assert (REPO / ".ci" / "run").read_text().rstrip().endswith("exec make test")


def test_the_molecule_matrix_takes_every_scenario_like_the_harness():
    workflow = _load(REPO / ".github" / "workflows" / "ci.yml")
    listing = workflow["jobs"]["scenarios"]["steps"][-1]["run"]
    assert "molecule/*/molecule.yml" in listing
    assert '[ -f "$dir/molecule.yml" ]' in (REPO / "tests" / "harness" / "molecule.sh").read_text()
    matrix = workflow["jobs"]["molecule"]["strategy"]["matrix"]["scenario"]
    assert matrix == "${{ fromJSON(needs.scenarios.outputs.list) }}"


def test_the_image_is_pushed_only_from_main_with_registry_credentials_from_settings():
    workflow = _load(REPO / ".github" / "workflows" / "ci.yml")
    job = workflow["jobs"]["image"]
    assert job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    login = next(
        s
        for _, s in _steps({"jobs": {"image": job}})
        if s.get("uses", "").startswith("docker/login-action@")
    )
    assert login["with"] == {
        "registry": "${{ vars.REGISTRY }}",
        "username": "${{ secrets.REGISTRY_USERNAME }}",
        "password": "${{ secrets.REGISTRY_PASSWORD }}",
    }


def test_the_kind_job_runs_the_k8s_playbook_and_the_smoke_test():
    workflow = _load(REPO / ".github" / "workflows" / "ci.yml")
    runs = " ".join(
        s.get("run", "") for _, s in _steps({"jobs": {"kind": workflow["jobs"]["kind"]}})
    )
    assert "ansible-playbook playbooks/k8s.yml" in runs
    assert ".github/kind/smoke.sh" in runs
