"""The image tag of the sandbox and dev inventories follows apps/' content.

``flaskfleet_apps_digest`` (inventories/{sandbox,dev}/group_vars/app_nodes/services.yml)
is evaluated by Ansible itself (``ansible -m debug``, nothing is connected to), from
the inventory in the checkout and from a copy of it, as Molecule's platform scenario
uses it. A copy without FLASKFLEET_APPS_DIR once hashed an empty archive: every
build got the same tag and a changed apps/ was never rolled out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = Path(sys.executable).with_name("ansible")
EMPTY_ARCHIVE_DIGEST = "e3b0c44298fc"  # sha256 of no bytes at all


def digest(inventory: Path, apps_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FLASKFLEET_APPS_DIR"}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0")
    if apps_dir is not None:
        env["FLASKFLEET_APPS_DIR"] = str(apps_dir)
    return subprocess.run(
        [str(ANSIBLE), "-i", str(inventory), "app_nodes[0]", "-m", "ansible.builtin.debug",
         "-a", "msg=digest={{ flaskfleet_apps_digest }}"],
        env=env, capture_output=True, text=True, check=False, timeout=120, cwd=REPO,
    )


def digest_of(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"digest=([0-9a-f]+)", result.stdout)
    assert found, result.stdout
    return found.group(1)


def copy_inventory(env: str, dest: Path) -> Path:
    target = dest / "inventory"
    shutil.copytree(REPO / "inventories" / env, target,
                    ignore=shutil.ignore_patterns("vault.yml"))
    return target


@pytest.mark.parametrize("env", ["sandbox", "dev"])
def test_digest_from_the_checkout_is_twelve_hex_digits_of_a_real_archive(env: str) -> None:
    value = digest_of(digest(REPO / "inventories" / env))
    assert re.fullmatch(r"[0-9a-f]{12}", value)
    assert value != EMPTY_ARCHIVE_DIGEST


def test_a_copied_inventory_without_apps_beside_it_stops_instead_of_hashing_nothing(
        tmp_path: Path) -> None:
    result = digest(copy_inventory("sandbox", tmp_path))
    assert result.returncode != 0
    assert EMPTY_ARCHIVE_DIGEST not in result.stdout


def test_a_copied_inventory_with_flaskfleet_apps_dir_gets_the_checkout_digest(
        tmp_path: Path) -> None:
    expected = digest_of(digest(REPO / "inventories" / "sandbox"))
    assert digest_of(digest(copy_inventory("sandbox", tmp_path), REPO / "apps")) == expected


def test_an_edit_to_the_service_code_changes_the_digest(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    shutil.copytree(REPO / "apps", apps, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "tests"))
    inventory = copy_inventory("sandbox", tmp_path)
    before = digest_of(digest(inventory, apps))
    assert before == digest_of(digest(REPO / "inventories" / "sandbox"))
    with (apps / "flaskfleet_services" / "__init__.py").open("a") as handle:
        handle.write("# changed\n")
    assert digest_of(digest(inventory, apps)) != before
