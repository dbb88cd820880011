"""Tasks that run on the controller never escalate (inventories/*/host_vars/localhost.yml).

Every inventory sets ``ansible_become: true`` in group_vars/all for its managed hosts. Ansible
applies a delegated task's connection variables from the host it is delegated to, and the
implicit localhost gets group_vars/all too; a variable outranks a task's ``become: false``.
Without host_vars/localhost.yml the roles' controller tasks (certificates, downloads, the image
archive) would run through sudo on the operator's machine.

The behavioural tests make escalation visible without sudo: in a copy of an inventory,
group_vars/all escalates with ``su`` to ``nobody`` (as root, su asks no password), and a task of
the first managed host delegated to localhost reports the user it ran as.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ["sandbox", "dev", "staging", "production"]
ANSIBLE = REPO / ".venv" / "bin"
ANSIBLE_PLAYBOOK = str(ANSIBLE / "ansible-playbook") if ANSIBLE.exists() else "ansible-playbook"

DELEGATED_WHOAMI = [
    {
        "name": "A managed host's task delegated to the controller",
        "hosts": "all[0]",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Report the user the controller task runs as",
                "ansible.builtin.command": "id -un",
                "delegate_to": "localhost",
                "become": False,
                "changed_when": False,
                "register": "whoami",
            },
            {"name": "Show it", "ansible.builtin.debug": {"msg": "ran-as={{ whoami.stdout }}"}},
        ],
    }
]


def ran_as(inventory: Path, tmp_path: Path) -> str:
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump(DELEGATED_WHOAMI))
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory), str(play),
         "-e", "ansible_python_interpreter=/usr/bin/python3"],
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = re.search(r"ran-as=([\w-]+)", proc.stdout)
    assert found, proc.stdout[-3000:]
    return found.group(1)


def escalating_copy(env: str, tmp_path: Path, keep_localhost_vars: bool) -> Path:
    inventory = tmp_path / env
    shutil.copytree(REPO / "inventories" / env, inventory)
    (inventory / "group_vars/all/zz_escalate_to_nobody.yml").write_text(
        "---\nansible_become_method: su\nansible_become_user: nobody\n"
        "ansible_become_flags: -s /bin/sh\n"
    )
    if not keep_localhost_vars:
        (inventory / "host_vars/localhost.yml").unlink()
    return inventory


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_managed_hosts_escalate_and_the_controller_does_not(env):
    def become_of(host: str) -> str:
        proc = subprocess.run(
            [str(ANSIBLE / "ansible") if ANSIBLE.exists() else "ansible",
             "-i", f"inventories/{env}", host, "-m", "ansible.builtin.debug",
             "-a", "var=ansible_become"],
            cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout.split("ansible_become:")[1].split()[0].strip('",')

    hosts = yaml.safe_load((REPO / "inventories" / env / "hosts.yml").read_text())
    first = next(iter(hosts["all"].get("hosts") or {}), None)
    if first is None:
        children = hosts["all"]["children"]
        first = next(iter(next(iter(children.values()))["hosts"]))
    assert become_of(first) in ("true", "True"), f"{env}: {first} does not escalate"
    assert become_of("localhost") in ("false", "False"), f"{env}: the controller escalates"


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="su to nobody without a password")


@needs_root
@pytest.mark.parametrize("env", ["sandbox", "production"])
def test_a_task_delegated_to_the_controller_runs_as_the_operator(env, tmp_path):
    inventory = escalating_copy(env, tmp_path, keep_localhost_vars=True)
    assert ran_as(inventory, tmp_path) == getpass.getuser()


@needs_root
def test_without_the_controllers_host_vars_the_delegated_task_would_escalate(tmp_path):
    inventory = escalating_copy("production", tmp_path, keep_localhost_vars=False)
    assert ran_as(inventory, tmp_path) == "nobody"
