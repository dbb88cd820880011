"""Every role's meta/argument_specs.yml describes exactly its defaults/main.yml.

A variable in defaults without a spec escapes validation; a spec without a
default documents a variable the role never reads (or forgot to default).
Literal defaults in the spec must equal the ones in defaults/main.yml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE_DIRS = sorted(
    p.parent.parent
    for pattern in ("roles/*/defaults/main.yml", "molecule/*/roles/*/defaults/main.yml")
    for p in REPO.glob(pattern)
)


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def _spec_options(role: Path) -> dict:
    spec_file = role / "meta" / "argument_specs.yml"
    assert spec_file.exists(), f"{role.relative_to(REPO)} has no meta/argument_specs.yml"
    return _load(spec_file)["argument_specs"]["main"].get("options", {})


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_default_has_a_spec_and_every_spec_a_default(role: Path) -> None:
    defaults = set(_load(role / "defaults" / "main.yml"))
    options = set(_spec_options(role))
    assert sorted(defaults - options) == [], "defaults without an argument spec"
    assert sorted(options - defaults) == [], "argument specs without a default"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: str(p.relative_to(REPO)))
def test_literal_spec_defaults_equal_the_role_defaults(role: Path) -> None:
    defaults = _load(role / "defaults" / "main.yml")
    for name, option in _spec_options(role).items():
        value = defaults.get(name)
        if "default" in option and not (isinstance(value, str) and "{{" in value):
            assert option["default"] == value, (
                f"{name}: spec {option['default']!r}, defaults {value!r}"
            )


# Test consumer roles inside Molecule scenarios borrow the variable names of the
# roles they stand for, so the prefix rule holds for the project's roles only.
PROJECT_ROLES = [p for p in ROLE_DIRS if p.parent == REPO / "roles"]


@pytest.mark.parametrize("role", PROJECT_ROLES, ids=lambda p: p.name)
def test_role_variables_carry_the_role_prefix(role: Path) -> None:
    prefix = role.name.lstrip("_") + "_"
    names = list(_load(role / "defaults" / "main.yml"))
    wrong = [n for n in names if not n.lstrip("_").startswith(prefix)]
    assert wrong == [], f"variables without the {prefix!r} prefix"


def test_the_argument_spec_check_sees_every_role() -> None:
    roles = {p.name for p in (REPO / "roles").iterdir() if p.is_dir()}
    checked = {p.name for p in ROLE_DIRS if p.parent == REPO / "roles"}
    assert roles == checked, f"roles without defaults/main.yml: {sorted(roles - checked)}"
