"""Filters of the Prometheus family of roles (plugins/filter/prometheus_stack.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from passlib.hash import bcrypt
from source_module import load_source

REPO = Path(__file__).resolve().parents[2]
PLUGIN = (
    REPO / "collections/ansible_collections/flaskfleet/platform/plugins/filter/prometheus_stack.py"
)

prometheus_stack = load_source("prometheus_stack", PLUGIN)

web_config = prometheus_stack.prometheus_web_config
route_receivers = prometheus_stack.alertmanager_route_receivers


def test_passwords_become_bcrypt_hashes_that_verify() -> None:
    config = web_config({"admin": "s3cret"}, "host-a", rounds=4)
    hashed = config["basic_auth_users"]["admin"]
    assert hashed.startswith("$2b$04$")
    assert bcrypt.verify("s3cret", hashed)
    assert not bcrypt.verify("wrong", hashed)
    assert "tls_server_config" not in config


def test_the_same_input_gives_the_same_hash_so_the_file_is_stable() -> None:
    first = web_config({"admin": "s3cret"}, "host-a", rounds=4)
    again = web_config({"admin": "s3cret"}, "host-a", rounds=4)
    assert first == again


@pytest.mark.parametrize(
    ("users", "seed"),
    [({"admin": "s3cret"}, "host-b"), ({"other": "s3cret"}, "host-a"), ({"admin": "x"}, "host-a")],
)
def test_hosts_users_and_passwords_never_share_a_salt(users: dict, seed: str) -> None:
    reference = web_config({"admin": "s3cret"}, "host-a", rounds=4)["basic_auth_users"]["admin"]
    hashed = next(iter(web_config(users, seed, rounds=4)["basic_auth_users"].values()))
    assert hashed[7:29] != reference[7:29]


def test_existing_bcrypt_hashes_are_kept() -> None:
    existing = bcrypt.using(rounds=4).hash("pw")
    assert web_config({"admin": existing}, "h")["basic_auth_users"]["admin"] == existing


def test_tls_section_with_and_without_client_certificates() -> None:
    plain = web_config({}, "h", tls_cert_file="/c.pem", tls_key_file="/k.pem")
    assert plain == {
        "tls_server_config": {"cert_file": "/c.pem", "key_file": "/k.pem", "min_version": "TLS12"}
    }
    mutual = web_config({}, "h", "/c.pem", "/k.pem", tls_client_ca_file="/ca.pem")
    assert mutual["tls_server_config"]["client_auth_type"] == "RequireAndVerifyClientCert"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"users": {"admin": ""}, "seed": "h"},
        {"users": {"admin": "pw"}, "seed": ""},
        {"users": ["admin"], "seed": "h"},
        {"users": {}, "seed": "h", "tls_cert_file": "/c.pem"},
    ],
)
def test_bad_input_is_refused(kwargs: dict) -> None:
    with pytest.raises(AnsibleFilterError):
        web_config(**kwargs)


def test_route_receivers_walks_the_whole_tree() -> None:
    route = {
        "receiver": "default",
        "routes": [
            {"receiver": "team-a", "routes": [{"receiver": "pager"}, {"matchers": ["x=1"]}]},
            {"receiver": "team-b"},
            {"receiver": "default"},
        ],
    }
    assert route_receivers(route) == ["default", "team-a", "pager", "team-b"]
    assert route_receivers(None) == []


def test_route_receivers_refuses_a_route_that_is_not_a_mapping() -> None:
    with pytest.raises(AnsibleFilterError):
        route_receivers({"receiver": "a", "routes": ["b"]})
