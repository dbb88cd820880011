"""The image tag of the sandbox and dev inventories follows apps/' content.

``flaskfleet_apps_digest`` (inventories/{sandbox,dev}/group_vars/app_nodes/services.yml)
is evaluated by Ansible itself (``ansible -m debug``, nothing is connected to), from
the inventory in the checkout and from a copy of it, as Molecule's platform scenario
uses it. A copy without FLASKFLEET_APPS_DIR once hashed an empty archive: every
build got the same tag and a changed apps/ was never rolled out. The digest is the
flaskfleet.platform.source_digest lookup, also tested here on its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleLookupError
from source_module import load_source

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "collections/ansible_collections/flaskfleet/platform/plugins/lookup"
lookup = load_source("source_digest", PLUGIN / "source_digest.py")
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


def make_tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM base\n")
    (root / "pkg" / "app.py").write_text("print('hi')\n")
    return root


def test_the_lookup_ignores_timestamps_and_byte_code_caches(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "a")
    before = lookup.source_digest(tree, ["Dockerfile", "pkg"])
    os.utime(tree / "pkg" / "app.py", (0, 0))
    (tree / "pkg" / "__pycache__").mkdir()
    (tree / "pkg" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (tree / "pkg" / "stale.pyc").write_bytes(b"\0")
    assert lookup.source_digest(tree, ["Dockerfile", "pkg"]) == before
    assert lookup.source_digest(make_tree(tmp_path / "b"), ["pkg", "Dockerfile"]) == before


def test_the_lookup_changes_with_content_names_new_files_and_the_executable_bit(
        tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    seen = {lookup.source_digest(tree, ["Dockerfile", "pkg"])}
    (tree / "pkg" / "app.py").write_text("print('hello')\n")
    seen.add(lookup.source_digest(tree, ["Dockerfile", "pkg"]))
    (tree / "pkg" / "app.py").rename(tree / "pkg" / "main.py")
    seen.add(lookup.source_digest(tree, ["Dockerfile", "pkg"]))
    (tree / "pkg" / "extra.py").write_text("")
    seen.add(lookup.source_digest(tree, ["Dockerfile", "pkg"]))
    (tree / "pkg" / "extra.py").chmod(0o755)
    seen.add(lookup.source_digest(tree, ["Dockerfile", "pkg"]))
    assert len(seen) == 5


def test_the_lookup_refuses_a_missing_directory_or_listed_path(tmp_path: Path) -> None:
    with pytest.raises(AnsibleLookupError, match="not a directory"):
        lookup.source_digest(tmp_path / "nowhere", ["Dockerfile"])
    tree = make_tree(tmp_path / "tree")
    with pytest.raises(AnsibleLookupError, match=r"requirements\.txt is missing"):
        lookup.source_digest(tree, ["Dockerfile", "requirements.txt"])
    with pytest.raises(AnsibleLookupError, match="names no file"):
        lookup.source_digest(tree, [])
