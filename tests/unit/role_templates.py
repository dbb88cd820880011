"""Render a role's templates as Ansible does, without a host: for template unit tests.

    templar = role_templar(REPO / "roles" / "consul", inventory_hostname="srv1")
    text = render(templar, ROLE / "templates" / "etc" / "consul.d" / "consul.hcl.j2")

The role's defaults/main.yml and vars/main.yml are loaded as trusted templates (as Ansible
trusts a role's own files), then the given variables are laid over them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template


def trusted(value: Any) -> Any:
    """Mark every string of a loaded YAML document as a template Ansible may render."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def role_variables(role: Path) -> dict[str, Any]:
    """The role's defaults and vars, as the role sees them before any inventory value."""
    loader = DataLoader()
    variables: dict[str, Any] = {"ansible_managed": "Ansible managed"}
    for name in ("defaults/main.yml", "vars/main.yml"):
        if (role / name).exists():
            variables.update(trusted(loader.load_from_file(str(role / name))))
    return variables


def role_templar(role: Path, **overrides: Any) -> Templar:
    """A templar over the role's defaults and vars with ``overrides`` laid on top."""
    variables = role_variables(role)
    variables.update(overrides)
    return Templar(loader=DataLoader(), variables=variables)


def render(templar: Templar, template: Path | str) -> str:
    """Render a template file (a Path) or a template string."""
    source = template.read_text() if isinstance(template, Path) else template
    return templar.template(trust_as_template(source))
