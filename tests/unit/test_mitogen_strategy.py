"""The project's strategy: plays run over Mitogen (ansible.cfg, plugins/strategy).

Each test runs ansible-playbook on localhost with the project's ansible.cfg. Under Mitogen a
host's modules run in one interpreter kept for the whole run, so two tasks that start a shell
see the same parent process; under Ansible's own linear strategy each task starts its own
Python, so they see two. That difference is what the first two tests check. The last one
hides the mitogen package and expects the shim's message instead of a traceback.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(REPO / ".venv" / "bin" / "ansible-playbook")
if not Path(ANSIBLE_PLAYBOOK).exists():
    ANSIBLE_PLAYBOOK = "ansible-playbook"

TWO_SHELLS = [
    {
        "name": "Two tasks that each print their shell's parent process",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [
            {
                "name": f"Parent of shell {n}",
                "ansible.builtin.command": "sh -c 'echo parent=$PPID'",
                "changed_when": False,
            }
            for n in (1, 2)
        ],
    }
]


def run(tmp_path: Path, playbook: list, **env: str) -> subprocess.CompletedProcess:
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(playbook))
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "localhost,", str(path),
         "-e", "ansible_python_interpreter={{ ansible_playbook_python }}"],
        cwd=tmp_path,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                 ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def parents(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [line.split("parent=")[1].strip().strip('"') for line in proc.stdout.splitlines()
            if "parent=" in line and "stdout:" in line]


def test_project_config_runs_a_hosts_tasks_in_one_mitogen_interpreter(tmp_path):
    found = parents(run(tmp_path, TWO_SHELLS, ANSIBLE_VERBOSITY="1"))
    assert len(found) == 2, found
    assert found[0] == found[1], f"each task started its own interpreter: {found}"


def test_linear_strategy_still_runs_when_asked_for_and_starts_python_per_task(tmp_path):
    found = parents(run(tmp_path, TWO_SHELLS, ANSIBLE_STRATEGY="linear",
                        ANSIBLE_VERBOSITY="1"))
    assert len(found) == 2, found
    assert found[0] != found[1], f"one interpreter for both tasks under linear: {found}"


def test_without_the_mitogen_package_the_run_stops_with_how_to_install_it(tmp_path):
    hidden = tmp_path / "hide"
    (hidden / "ansible_mitogen").mkdir(parents=True)
    (hidden / "ansible_mitogen" / "__init__.py").write_text(
        "raise ImportError('hidden by the test')\n")
    proc = run(tmp_path, TWO_SHELLS, PYTHONPATH=str(hidden))
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "needs the Python package mitogen" in output, output[-3000:]
    assert "pip install -r requirements.txt" in output
    assert "ANSIBLE_STRATEGY=linear" in output
    assert "parent=" not in output, "a task ran although the strategy could not load"
