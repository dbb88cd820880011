"""flaskfleet.platform.paths, run by Ansible itself on this machine (local connection).

The module builds the install tree of the shared release installer in one call; these
tests run it as the installer does, through ``ansible -m``, against a temporary tree.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = Path(sys.executable).with_name("ansible")


def run_paths(paths, *flags):
    """Run the module once on localhost; return (result dict, diff text)."""
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
    )
    args = json.dumps({"paths": paths})
    proc = subprocess.run(
        [str(ANSIBLE), "localhost", "-m", "flaskfleet.platform.paths", "-a", args, *flags],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    out = json.loads(proc.stdout)
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]


def tree(root):
    return [
        {"path": f"{root}/opt/app/1.0", "mode": "0755"},
        {"path": f"{root}/opt/app/current", "state": "link", "src": f"{root}/opt/app/1.0"},
        {"path": f"{root}/bin/app", "state": "link", "src": f"{root}/opt/app/current/app"},
        {"path": f"{root}/etc/app", "mode": "0750"},
    ]


def test_creates_directories_and_links_then_reports_no_change(tmp_path):
    first = run_paths(tree(tmp_path))
    assert first["changed"] is True
    assert len(first["changed_paths"]) == 4
    assert os.readlink(tmp_path / "opt/app/current") == f"{tmp_path}/opt/app/1.0"
    assert os.readlink(tmp_path / "bin/app") == f"{tmp_path}/opt/app/current/app"
    assert stat.S_IMODE((tmp_path / "etc/app").stat().st_mode) == 0o750
    second = run_paths(tree(tmp_path))
    assert second["changed"] is False, second
    assert second["changed_paths"] == []


def test_check_mode_reports_the_change_and_touches_nothing(tmp_path):
    result = run_paths(tree(tmp_path), "--check", "--diff")
    assert result["changed"] is True
    assert len(result["changed_paths"]) == 4
    assert list(tmp_path.iterdir()) == []


def test_a_new_version_moves_the_current_link_and_fixes_a_mode(tmp_path):
    run_paths(tree(tmp_path))
    (tmp_path / "etc/app").chmod(0o777)
    entries = tree(tmp_path)
    entries[0]["path"] = f"{tmp_path}/opt/app/2.0"
    entries[1]["src"] = f"{tmp_path}/opt/app/2.0"
    result = run_paths(entries, "--diff")
    assert sorted(result["changed_paths"]) == sorted(
        [f"{tmp_path}/opt/app/2.0", f"{tmp_path}/opt/app/current", f"{tmp_path}/etc/app"]
    )
    assert os.readlink(tmp_path / "opt/app/current") == f"{tmp_path}/opt/app/2.0"
    assert stat.S_IMODE((tmp_path / "etc/app").stat().st_mode) == 0o750
    link_diff = next(d for d in result["diff"] if d["after"]["path"].endswith("current"))
    assert link_diff["before"]["src"] == f"{tmp_path}/opt/app/1.0"


def test_a_file_where_a_link_belongs_fails_and_is_kept(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/app").write_text("someone's script\n")
    result = run_paths(tree(tmp_path))
    assert result.get("failed") is True
    assert "is a file, not a link" in result["msg"]
    assert (tmp_path / "bin/app").read_text() == "someone's script\n"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "relative/dir"}, "is not an absolute path"),
        ({"path": "/tmp/x", "state": "link"}, "src"),
        ({"path": "/tmp/x", "state": "socket"}, "state"),
        ({"path": "/tmp/x", "state": "file"}, "content"),
    ],
)
def test_bad_entries_fail_with_a_clear_message(entry, message):
    result = run_paths([entry])
    assert result.get("failed") is True
    assert message in result["msg"]


SECRET = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n"


def certificate_files(root, key=SECRET):
    return [
        {"path": f"{root}/tls", "mode": "0750"},
        {"path": f"{root}/tls/host.pem", "state": "file", "content": "CERT\n", "mode": "0644"},
        {"path": f"{root}/tls/host-key.pem", "state": "file", "content": key, "mode": "0640"},
    ]


def test_writes_files_exactly_then_reports_no_change(tmp_path):
    first = run_paths(certificate_files(tmp_path))
    assert first["changed"] is True
    assert (tmp_path / "tls/host-key.pem").read_text() == SECRET
    assert (tmp_path / "tls/host.pem").read_text() == "CERT\n"
    assert stat.S_IMODE((tmp_path / "tls/host-key.pem").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "tls/host.pem").stat().st_mode) == 0o644
    second = run_paths(certificate_files(tmp_path))
    assert second["changed"] is False, second


def test_a_changed_content_is_rewritten_and_the_diff_shows_digests_never_the_content(tmp_path):
    run_paths(certificate_files(tmp_path))
    (tmp_path / "tls/host.pem").chmod(0o600)
    new_key = SECRET.replace("not-a-real-key", "another-fake-key")
    result = run_paths(certificate_files(tmp_path, new_key), "--diff")
    assert sorted(result["changed_paths"]) == [f"{tmp_path}/tls/host-key.pem",
                                               f"{tmp_path}/tls/host.pem"]
    assert (tmp_path / "tls/host-key.pem").read_text() == new_key
    assert stat.S_IMODE((tmp_path / "tls/host.pem").stat().st_mode) == 0o644
    assert "another-fake-key" not in json.dumps(result)
    key_diff = next(d for d in result["diff"] if d["after"]["path"].endswith("key.pem"))
    assert key_diff["before"]["sha256"] != key_diff["after"]["sha256"]
    assert not list((tmp_path / "tls").glob(".flaskfleet-*")), "a temporary file was left"


def test_check_mode_reports_a_file_change_and_writes_nothing(tmp_path):
    run_paths(certificate_files(tmp_path))
    result = run_paths(certificate_files(tmp_path, "changed\n"), "--check", "--diff")
    assert result["changed_paths"] == [f"{tmp_path}/tls/host-key.pem"]
    assert (tmp_path / "tls/host-key.pem").read_text() == SECRET


def test_a_directory_where_a_file_belongs_fails_and_is_kept(tmp_path):
    (tmp_path / "tls/host.pem").mkdir(parents=True)
    result = run_paths(certificate_files(tmp_path))
    assert result.get("failed") is True
    assert "is a directory, not a file" in result["msg"]
    assert (tmp_path / "tls/host.pem").is_dir()
