"""The consul role's agent configuration template, rendered for old and new Consul.

Consul renamed configuration keys over time (acl.tokens.master -> initial_management
in 1.11, top-level TLS keys -> the tls {} stanza in 1.12, ports.grpc_tls in 1.14);
the template branches on consul_version. Renders it with Ansible's templar and the
role's own defaults and vars, and when the offline mirror holds Consul 1.8.7, runs
`consul validate` on the 1.8.7 renderings.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from role_templates import render as render_template
from role_templates import role_templar, role_variables

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "consul"
MIRROR_ZIP = REPO / ".cache" / "mirror" / "consul_1.8.7_linux_amd64.zip"
HOSTS = {"srv1": "10.0.0.1", "srv2": "10.0.0.2", "srv3": "10.0.0.3", "cli1": "10.0.0.9"}
# Test values only.
GOSSIP_KEY = "QGr9/v1x33+0GY8VAEDFzjuTYjICHPwiKNYGhwe2KUs="
TOKEN = "7e57c0de-0000-4000-8000-000000000001"


def render(host: str, **overrides) -> str:
    variables = role_variables(ROLE)
    hostvars = {h: {"ansible_facts": {"default_ipv4": {"address": a}}} for h, a in HOSTS.items()}
    variables.update(
        groups={"consul_servers": ["srv1", "srv2", "srv3"], "all": list(HOSTS)},
        hostvars=hostvars,
        inventory_hostname=host,
        ansible_facts=hostvars[host]["ansible_facts"],
        ansible_managed="Ansible managed",
        consul_gossip_key=GOSSIP_KEY,
        consul_acl_bootstrap_token=TOKEN,
    )
    variables.update(overrides)
    templar = role_templar(ROLE, **variables)
    source = (ROLE / "templates" / "etc" / "consul.d" / "consul.hcl.j2").read_text()
    return render_template(templar, source)


def test_consul_1_8_uses_the_old_keys() -> None:
    server = render("srv1", consul_version="1.8.7")
    assert "bootstrap_expect = 3" in server
    assert 'retry_join     = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]' in server
    assert 'retry_interval = "5s"' in server
    assert f'master = "{TOKEN}"' in server
    assert "initial_management" not in server
    assert "verify_incoming_rpc    = true" in server
    assert "verify_server_hostname = true" in server
    assert "tls {" not in server
    assert "grpc_tls" not in server
    assert f'encrypt                 = "{GOSSIP_KEY}"' in server


def test_current_consul_uses_the_new_keys() -> None:
    server = render("srv1", consul_version="1.22.6", consul_ui_enabled=True)
    assert f'initial_management = "{TOKEN}"' in server
    assert "master =" not in server
    assert "tls {" in server
    assert "internal_rpc {" in server
    assert "verify_incoming_rpc" not in server
    assert "grpc_tls = 8503" in server
    assert "ui_config {" in server


def test_clients_carry_no_server_settings_or_management_token() -> None:
    client = render("cli1")
    assert "server = false" in client
    assert "bootstrap_expect" not in client
    assert TOKEN not in client
    assert 'bind_addr      = "10.0.0.9"' in client


def test_security_can_be_switched_off_explicitly() -> None:
    config = render(
        "srv1", consul_gossip_enabled=False, consul_acl_enabled=False, consul_tls_enabled=False
    )
    assert "encrypt" not in config
    assert "acl {" not in config
    assert "ca_file" not in config
    assert "tls {" not in config
    assert "https = -1" in config


@pytest.mark.parametrize("host", ["srv1", "cli1"])
def test_consul_1_8_7_validates_the_rendered_configuration(host: str, tmp_path: Path) -> None:
    if not MIRROR_ZIP.exists():
        pytest.fail(f"{MIRROR_ZIP.name} is not in .cache/mirror: run make mirror")
    with zipfile.ZipFile(MIRROR_ZIP) as archive:
        archive.extract("consul", tmp_path)
    binary = tmp_path / "consul"
    binary.chmod(0o755)
    config_dir = tmp_path / "consul.d"
    config_dir.mkdir()
    config = render(host, consul_version="1.8.7", consul_data_dir=str(tmp_path / "data"))
    (config_dir / "consul.hcl").write_text(config)
    result = subprocess.run(
        [str(binary), "validate", str(config_dir)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
