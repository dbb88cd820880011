"""The runbooks' commands are the ones the platform scenario runs.

Every `ansible-playbook` command in docs/runbooks/ (the platform's runbooks; the
Kubernetes one is checked by tests/k8s) must appear in molecule/platform as a
command the scenario runs: the same playbook with the same `-e` variables and the
same --check/--diff/--limit flags. Values differ on purpose (production host names
and backup paths in the runbooks, the sandbox's in the scenario), so they are not
compared. The scenario runs site.yml itself as its converge step.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "docs" / "runbooks"
SCENARIO = ROOT / "molecule" / "platform"
NOT_PLATFORM = {"kubernetes.md"}
COMPARED_FLAGS = {"--check", "--diff", "--limit"}
IGNORED_FLAGS = {"--ask-vault-pass"}


def signature(words: list[str]) -> tuple[str, frozenset[str], frozenset[str]]:
    """(playbook, -e variable names, flags) of an ansible-playbook argument list."""
    playbook, variables, flags = "", set(), set()
    words = iter(words)
    for word in words:
        if word in ("-i", "--inventory"):
            next(words)
        elif word in ("-e", "--extra-vars"):
            variables.add(next(words).split("=", 1)[0])
        elif word in COMPARED_FLAGS:
            flags.add(word)
            if word == "--limit":
                next(words)
        elif word in IGNORED_FLAGS:
            continue
        elif word.startswith("-"):
            raise AssertionError(f"unexpected option {word!r}: compare it or ignore it here")
        elif word.endswith(".yml"):
            playbook = word
    return playbook, frozenset(variables), frozenset(flags)


def runbook_commands() -> dict[tuple, str]:
    found = {}
    for path in sorted(RUNBOOKS.glob("*.md")):
        if path.name in NOT_PLATFORM:
            continue
        text = path.read_text().replace("\\\n", " ")
        for match in re.finditer(r"ansible-playbook [^`\n]+", text):
            command = match.group(0).strip()
            words = shlex.split(command.replace("<", "'<").replace(">", ">'"))[1:]
            found[signature(words)] = f"{path.name}: {command}"
    return found


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def scenario_commands() -> set[tuple]:
    found = set()
    for path in SCENARIO.rglob("*.yml"):
        for mapping in _walk(list(yaml.safe_load_all(path.read_text()))):
            if "platform_runbook_command" in mapping:
                found.add(signature(mapping["platform_runbook_command"].split()))
            if str(mapping.get("ansible.builtin.import_playbook", "")).endswith("/site.yml"):
                found.add(("site.yml", frozenset(), frozenset()))
    return found


def test_the_runbooks_give_ansible_playbook_commands():
    assert len(runbook_commands()) >= 10


@pytest.mark.parametrize("command", sorted(runbook_commands().values()))
def test_each_runbook_command_is_run_by_the_platform_scenario(command):
    by_command = {text: key for key, text in runbook_commands().items()}
    assert by_command[command] in scenario_commands(), (
        f"{command!r} is not run by molecule/platform (playbook, -e names and flags must match)"
    )


def test_signature_ignores_values_and_inventory_but_not_variables_or_flags():
    production = shlex.split(
        "-i inventories/production playbooks/ops/scale.yml -e service=a -e instances=0 --limit h"
    )
    sandbox = shlex.split(
        "-i inventories/sandbox playbooks/ops/scale.yml -e service=b -e instances=2 --limit x"
    )
    assert signature(production) == signature(sandbox)
    assert signature(production) != signature(sandbox[:-2])
    assert signature(["site.yml", "--check"]) != signature(["site.yml"])
