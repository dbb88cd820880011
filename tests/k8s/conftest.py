"""Render the Kubernetes manifests once per session with the real playbook, in render mode.

`ansible-playbook playbooks/k8s.yml -e @tests/k8s/vars/render.yml -e k8s_services_render_dir=DIR`
contacts no cluster; the tests read what it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VARS_FILE = REPO / "tests" / "k8s" / "vars" / "render.yml"
PLAYBOOK = REPO / "playbooks" / "k8s.yml"


def run_render(render_dir: Path, extra_vars: dict | None = None) -> subprocess.CompletedProcess:
    """Run playbooks/k8s.yml in render mode into render_dir; returns the finished process."""
    env = dict(
        os.environ,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        PY_COLORS="0",
    )
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        str(PLAYBOOK),
        "-e",
        f"@{VARS_FILE}",
        "-e",
        json.dumps({"k8s_services_render_dir": str(render_dir)}),
    ]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@dataclass
class Rendered:
    directory: Path
    files: dict[str, dict]  # file name -> the object in it

    def of_kind(self, kind: str) -> list[dict]:
        return [m for m in self.files.values() if m["kind"] == kind]

    def get(self, kind: str, name: str) -> dict:
        matches = [m for m in self.of_kind(kind) if m["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
        return matches[0]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Rendered:
    directory = tmp_path_factory.mktemp("k8s") / "rendered"
    result = run_render(directory)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    files = {}
    for path in sorted(directory.glob("*.yaml")):
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(documents) == 1, f"{path.name} holds {len(documents)} objects"
        files[path.name] = documents[0]
    return Rendered(directory, files)


@pytest.fixture(scope="session")
def render():
    """run_render, for tests that render with their own variables."""
    return run_render


@pytest.fixture(scope="session")
def render_vars() -> dict:
    return yaml.safe_load(VARS_FILE.read_text())
