"""The shared _pki role, run by Ansible on this machine (local connection, temporary dirs).

A re-run must cost nothing on the controller (its steps are skipped while the record of a
certificate matches) and yet issue a certificate again when its names change, when its
renewal time comes, or repair a host file that drifted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from cryptography import x509

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: flaskfleet.platform._pki
      vars:
        _pki_cert_name: web
        _pki_dest_dir: {dest}
        _pki_subject_alt_names: {names}
{extra}"""


def playbook(tmp_path: Path, names: list[str], *flags: str,
             extra: str = "") -> subprocess.CompletedProcess:
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(dest=tmp_path / "dest", names=json.dumps(names), extra=extra))
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"),
        ANSIBLE_ROLES_PATH=str(REPO / "roles"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        FLASKFLEET_PKI_DIR=str(tmp_path / "pki"),
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_NOCOLOR="1",
    )
    return subprocess.run([str(PLAYBOOK), str(play), *flags], env=env, capture_output=True,
                          text=True, check=False, timeout=300)


def run(tmp_path: Path, names: list[str], *flags: str) -> dict[str, int]:
    proc = playbook(tmp_path, names, *flags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recap = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+\S+\s+failed=(\d+)\s+"
                      r"skipped=(\d+)", proc.stdout)
    assert recap, proc.stdout
    ok, changed, failed, skipped = (int(value) for value in recap.groups())
    return {"ok": ok, "changed": changed, "failed": failed, "skipped": skipped}


def certificate(tmp_path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((tmp_path / "dest" / "web.pem").read_bytes())


def record(tmp_path: Path) -> Path:
    return tmp_path / "pki" / "platform" / "localhost-web.request"


def test_a_second_run_and_check_mode_change_nothing_and_skip_the_controller_steps(
        tmp_path: Path) -> None:
    first = run(tmp_path, ["DNS:localhost"])
    assert first["changed"] > 0
    second = run(tmp_path, ["DNS:localhost"])
    assert second["changed"] == 0
    # CA directory, key, CSR and signature; host key, CSR, signature and record.
    assert second["skipped"] == 8
    assert run(tmp_path, ["DNS:localhost"], "--check", "--diff")["changed"] == 0
    key = tmp_path / "dest" / "web-key.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o640"
    issued = tmp_path / "pki" / "platform" / "localhost-web-key.pem"
    assert key.read_bytes() == issued.read_bytes()


def test_renewal_time_new_names_and_a_drifted_host_file_each_issue_or_repair(
        tmp_path: Path) -> None:
    run(tmp_path, ["DNS:localhost"])
    before = certificate(tmp_path)
    saved = json.loads(record(tmp_path).read_text())
    expires = before.not_valid_after_utc.timestamp()
    assert abs(expires - 30 * 86400 - saved["renew_after"]) < 5

    # Renewal time: a new certificate for the same key.
    record(tmp_path).write_text(json.dumps({**saved, "renew_after": 0}))
    assert run(tmp_path, ["DNS:localhost"])["changed"] > 0
    renewed = certificate(tmp_path)
    assert renewed.serial_number != before.serial_number
    assert renewed.public_key() == before.public_key()

    # New names: issued again with them.
    assert run(tmp_path, ["DNS:localhost", "IP:127.0.0.1"])["changed"] > 0
    names = certificate(tmp_path).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]

    # A host file that drifted is written again, and then nothing changes.
    (tmp_path / "dest" / "web.pem").write_text("tampered\n")
    assert run(tmp_path, ["DNS:localhost", "IP:127.0.0.1"])["changed"] == 1
    issued = tmp_path / "pki" / "platform" / "localhost-web.pem"
    assert (tmp_path / "dest" / "web.pem").read_bytes() == issued.read_bytes()
    assert run(tmp_path, ["DNS:localhost", "IP:127.0.0.1"])["changed"] == 0


def test_a_ca_path_that_does_not_exist_is_refused_before_anything_is_written(
        tmp_path: Path) -> None:
    extra = "        _pki_ca_cert: /nowhere/ca.pem\n        _pki_ca_key: /nowhere/ca-key.pem\n"
    proc = playbook(tmp_path, ["DNS:localhost"], extra=extra)
    assert proc.returncode != 0
    output = " ".join(proc.stdout.split())
    assert "must be a file on the controller (got '/nowhere/ca.pem')" in output
    assert not (tmp_path / "dest").exists()
    assert not (tmp_path / "pki").exists()
