"""The test image's bytecode cache for Ansible's module payloads.

tests/image/flaskfleet_test_module_bytecode_cache.py replaces zipimport's compile step in
the test hosts' Python. Each case runs a fresh interpreter that loads it, imports a small
package from a zip file named like an Ansible payload, and reports how many sources it
compiled, what the imported code returns and the file name a traceback would show.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE_MODULE = ROOT / "tests/image/flaskfleet_test_module_bytecode_cache.py"

IMPORTER = """
import importlib.util, json, os, sys, traceback
spec = importlib.util.spec_from_file_location("bytecode_cache", sys.argv[1])
cache = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cache)
cache.CACHE_DIR = sys.argv[2]
euid = int(sys.argv[4])
os.geteuid = lambda: euid
compiled = []
compile_source = cache._compile_source
def counting_compile(pathname, source):
    compiled.append(pathname)
    return compile_source(pathname, source)
cache._compile_source = counting_compile
sys.path.insert(0, sys.argv[3])
from payload_pkg import mod
try:
    mod.fail()
except RuntimeError:
    where = traceback.extract_tb(sys.exc_info()[2])[-1].filename
print(json.dumps({"compiled": len(compiled), "value": mod.value(), "traceback_file": where}))
"""

PACKAGE = {
    "payload_pkg/__init__.py": "",
    "payload_pkg/mod.py": (
        "def value():\n    return {value!r}\n\n"
        "def fail():\n    raise RuntimeError('from the payload')\n"
    ),
}


def make_payload(directory: Path, name: str, value: str = "first") -> Path:
    directory.mkdir(parents=True)
    archive = directory / name
    with zipfile.ZipFile(archive, "w") as payload:
        for path, source in PACKAGE.items():
            payload.writestr(path, source.format(value=value))
    return archive


def import_from(archive: Path, cache_dir: Path, euid: int = 0, optimize: bool = False) -> dict:
    result = subprocess.run(
        [sys.executable, *(["-O"] if optimize else []), "-c", IMPORTER, str(CACHE_MODULE),
         str(cache_dir), str(archive), str(euid)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return json.loads(result.stdout)


def cached_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.pyc")) if cache_dir.exists() else []


def test_a_payload_is_compiled_once_and_later_runs_load_it_under_their_own_file_name(tmp_path):
    cache_dir = tmp_path / "cache"
    first = make_payload(tmp_path / "run1", "ansible_stat_payload.zip")
    second = make_payload(tmp_path / "run2", "ansible_stat_payload.zip")

    cold = import_from(first, cache_dir)
    warm = import_from(second, cache_dir)

    assert cold["compiled"] == 2
    assert len(cached_files(cache_dir)) == 2
    assert warm["compiled"] == 0
    assert warm["value"] == cold["value"] == "first"
    assert warm["traceback_file"] == f"{second}/payload_pkg/mod.py"


def test_a_changed_source_is_compiled_again_and_its_new_code_runs(tmp_path):
    cache_dir = tmp_path / "cache"
    import_from(make_payload(tmp_path / "run1", "ansible_stat_payload.zip"), cache_dir)

    changed = import_from(
        make_payload(tmp_path / "run2", "ansible_stat_payload.zip", value="second"), cache_dir)

    assert changed["compiled"] == 1
    assert changed["value"] == "second"


def test_other_zip_files_and_non_root_users_compile_on_every_run_and_store_nothing(tmp_path):
    cache_dir = tmp_path / "cache"

    # zipimport compiles a module more than once per import (for its file name, then its
    # code): a later run that compiles as often as the first one used no cache.
    other_zip = [import_from(make_payload(tmp_path / f"lib{run}", "library.zip"), cache_dir)
                 for run in (1, 2)]
    as_user = [import_from(make_payload(tmp_path / f"user{run}", "ansible_stat_payload.zip"),
                           cache_dir, euid=1000)
               for run in (1, 2)]

    assert other_zip[0]["compiled"] >= 2
    assert other_zip[1]["compiled"] == other_zip[0]["compiled"]
    assert as_user[0]["compiled"] >= 2
    assert as_user[1]["compiled"] == as_user[0]["compiled"]
    assert cached_files(cache_dir) == []


def test_a_damaged_cache_entry_is_compiled_again_instead_of_failing_the_import(tmp_path):
    cache_dir = tmp_path / "cache"
    import_from(make_payload(tmp_path / "run1", "ansible_stat_payload.zip"), cache_dir)
    for entry in cached_files(cache_dir):
        entry.write_bytes(b"\x00not marshal data")

    repaired = import_from(make_payload(tmp_path / "run2", "ansible_stat_payload.zip"), cache_dir)

    assert repaired["compiled"] == 2
    assert repaired["value"] == "first"
    assert import_from(
        make_payload(tmp_path / "run3", "ansible_stat_payload.zip"), cache_dir)["compiled"] == 0


def test_an_optimised_interpreter_does_not_load_code_compiled_without_optimisation(tmp_path):
    cache_dir = tmp_path / "cache"
    import_from(make_payload(tmp_path / "run1", "ansible_stat_payload.zip"), cache_dir)

    optimised = import_from(
        make_payload(tmp_path / "run2", "ansible_stat_payload.zip"), cache_dir, optimize=True)

    assert optimised["compiled"] >= 1
    assert len(cached_files(cache_dir)) == 4
