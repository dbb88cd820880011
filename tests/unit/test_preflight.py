"""The preflight (playbooks/preflight.yml, roles/inventory_check, filter inventory_check).

Runs the real preflight with ansible-playbook on localhost (no host is touched) on
every committed inventory, with a vault made from its vault.example.yml, and on
broken copies of the production inventory in tmp_path: each must fail, naming the
variable or group. The playbook runs go in parallel (one module fixture), the
filter's finer checks are called directly. Also: site.yml passes the syntax check
with every inventory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from jinja2 import StrictUndefined
from source_module import load_source

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ["sandbox", "dev", "staging", "production"]
ANSIBLE_PLAYBOOK = str(REPO / ".venv" / "bin" / "ansible-playbook")
if not Path(ANSIBLE_PLAYBOOK).exists():
    ANSIBLE_PLAYBOOK = "ansible-playbook"
PLUGIN = REPO / "collections/ansible_collections/flaskfleet/platform/plugins/filter"
PLUGIN = PLUGIN / "inventory_check.py"
RULES = yaml.safe_load((REPO / "roles/inventory_check/files/rules.yml").read_text())
inventory_check = load_source("inventory_check", PLUGIN).inventory_check

BCRYPT_LINE = "admin:$2y$10$V3FPNrSPh1f1LmTVMHr9kO88trl55iqWnxqbK7iGIWUswEq9O4xyq"


def valid_value(name: str) -> object:
    """A well-formed throwaway secret for a vault variable of vault.example.yml."""
    if name == "vault_consul_gossip_key":
        return base64.b64encode(os.urandom(32)).decode()
    if name.startswith("vault_consul_"):
        return str(uuid.uuid4())
    if name == "vault_traefik_dashboard_users":
        return [BCRYPT_LINE]
    if name == "vault_app_service_api_keys":
        return [{"name": "tests", "sha256": hashlib.sha256(b"test-key").hexdigest()}]
    if name.startswith("vault_kibana_"):
        return os.urandom(24).hex()  # Kibana's encryption keys: 32 characters or more
    return os.urandom(16).hex()


def valid_vault(env: str) -> dict:
    example = yaml.safe_load((REPO / "inventories" / env / "vault.example.yml").read_text())
    return {name: valid_value(name) for name in example}


def write_vault(path: Path, values: dict) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


def copy_inventory(env: str, dest: Path) -> Path:
    target = dest / env
    # A generated sandbox vault (git-ignored) is no part of the committed inventory.
    shutil.copytree(
        REPO / "inventories" / env, target, ignore=shutil.ignore_patterns("vault.yml")
    )
    return target


def run_playbook(inventory: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory), *args],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=180, check=False,
    )


def preflight(inventory: Path, vault: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_playbook(inventory, "playbooks/preflight.yml", "-e", f"@{vault}", *extra)


# Broken copies of the production inventory: name -> (change, words the failure names).
def _drop_gossip_key(inv: Path, vault: dict) -> None:
    del vault["vault_consul_gossip_key"]


def _bad_uuid(inv: Path, vault: dict) -> None:
    vault["vault_consul_acl_bootstrap_token"] = "not-a-uuid-at-all"


def _misspelled(inv: Path, vault: dict) -> None:
    (inv / "group_vars/all/typo.yml").write_text("---\nconsul_datacentre: eu-west\n")


def _removed(inv: Path, vault: dict) -> None:
    host_vars = inv / "host_vars"
    host_vars.mkdir(exist_ok=True)
    (host_vars / "edge-1.prod.flaskfleet.example.com.yml").write_text(
        "---\ntraefik_api_insecure: true\n"
    )


def _hosts(inv: Path) -> dict:
    return yaml.safe_load((inv / "hosts.yml").read_text())


def _set_hosts(inv: Path, data: dict) -> None:
    (inv / "hosts.yml").write_text("---\n" + yaml.safe_dump(data))


def _even_servers(inv: Path, vault: dict) -> None:
    data = _hosts(inv)
    data["all"]["children"]["consul_servers"]["hosts"] = {
        f"consul-{i}.prod.flaskfleet.example.com": None for i in range(1, 5)
    }
    _set_hosts(inv, data)


def _empty_group(inv: Path, vault: dict) -> None:
    data = _hosts(inv)
    data["all"]["children"]["tracing"] = {"hosts": {}}
    _set_hosts(inv, data)


def _drop_grafana_admin_password(inv: Path, vault: dict) -> None:
    del vault["vault_grafana_admin_password"]


def _unmapped_grafana_admin_password(inv: Path, vault: dict) -> None:
    # The mapping removed from secrets.yml: the role's default (empty) would apply.
    secrets = inv / "group_vars/all/secrets.yml"
    text = secrets.read_text()
    line = 'grafana_admin_password: "{{ vault_grafana_admin_password }}"\n'
    assert line in text
    secrets.write_text(text.replace(line, ""))


def _drop_elastic_password(inv: Path, vault: dict) -> None:
    del vault["vault_elasticsearch_elastic_password"]


def _drop_jaeger_writer_password(inv: Path, vault: dict) -> None:
    del vault["vault_elasticsearch_jaeger_writer_password"]


def _short_kibana_key(inv: Path, vault: dict) -> None:
    vault["vault_kibana_security_encryption_key"] = "0123456789abcdef0123"


def _previous_password_unchanged(inv: Path, vault: dict) -> None:
    vault["vault_postgresql_order_service_password_previous"] = (
        vault["vault_postgresql_order_service_password"])


def _previous_token_unchanged(inv: Path, vault: dict) -> None:
    vault["vault_consul_traefik_token_previous"] = vault["vault_consul_traefik_token"]


BROKEN: dict[str, tuple[Callable[[Path, dict], None], list[str]]] = {
    "missing_gossip_key": (_drop_gossip_key, ["consul_gossip_key", "vault_consul_gossip_key"]),
    "bad_uuid": (_bad_uuid, ["consul_acl_bootstrap_token is not a UUID"]),
    "misspelled": (_misspelled, ["consul_datacentre", "did you mean consul_datacenter?"]),
    "removed": (
        _removed,
        ["traefik_api_insecure was removed", "traefik_dashboard_enabled",
         "edge-1.prod.flaskfleet.example.com"],
    ),
    "even_servers": (_even_servers, ["group consul_servers has 4 hosts, an even number"]),
    "empty_group": (_empty_group, ["group tracing has no hosts"]),
    "missing_grafana_admin_password": (
        _drop_grafana_admin_password,
        ["grafana_admin_password cannot be resolved", "vault_grafana_admin_password",
         "monitoring-1.prod.flaskfleet.example.com"],
    ),
    "unmapped_grafana_admin_password": (
        _unmapped_grafana_admin_password,
        ["grafana_admin_password is not set (vault_grafana_admin_password"],
    ),
    "missing_elastic_password": (
        _drop_elastic_password,
        # The elastic password of the nodes, and every role that uses it.
        ["elasticsearch_elastic_password cannot be resolved",
         "vault_elasticsearch_elastic_password", "kibana_api_password",
         "logging-1.prod.flaskfleet.example.com"],
    ),
    "missing_jaeger_writer_password": (
        _drop_jaeger_writer_password,
        # Jaeger's own account (elasticsearch_users), not the superuser's.
        ["jaeger_elasticsearch_password cannot be resolved",
         "vault_elasticsearch_jaeger_writer_password"],
    ),
    "previous_password_unchanged": (
        _previous_password_unchanged,
        ["(orders): password_previous equals password"],
    ),
    "previous_token_unchanged": (
        _previous_token_unchanged,
        ["(traefik): secret_id_previous equals secret_id"],
    ),
    "short_kibana_key": (
        _short_kibana_key,
        ["kibana_security_encryption_key is shorter than 32 characters"],
    ),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess]:
    """Every preflight run of this module, started in parallel."""
    base = tmp_path_factory.mktemp("preflight")
    jobs: dict[str, tuple] = {}
    for env in ENVIRONMENTS:
        vault = write_vault(base / f"vault-{env}.yml", valid_vault(env))
        jobs[f"valid-{env}"] = (REPO / "inventories" / env, vault)
    jobs["example-production"] = (
        REPO / "inventories/production", REPO / "inventories/production/vault.example.yml"
    )
    for name, (change, _) in BROKEN.items():
        work = base / name
        work.mkdir()
        inventory = copy_inventory("production", work)
        vault = valid_vault("production")
        change(inventory, vault)
        jobs[name] = (inventory, write_vault(work / "vault.yml", vault))
    even = jobs["even_servers"]
    jobs["even_servers_allowed"] = (*even, "-e", "inventory_check_allow_even_consul_servers=true")
    too_new = "inventory_check_min_ansible_version=99.0"
    jobs["old_ansible"] = (*jobs["valid-production"], "-e", too_new)
    calls = {name: (preflight, *job) for name, job in jobs.items()}
    for env in ENVIRONMENTS:
        inventory = REPO / "inventories" / env
        calls[f"syntax-{env}"] = (run_playbook, inventory, "site.yml", "--syntax-check")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(*call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def _output(result: subprocess.CompletedProcess) -> str:
    # The YAML callback folds long messages: compare with whitespace collapsed.
    return re.sub(r"\s+", " ", result.stdout + result.stderr)


def test_every_inventory_is_checked() -> None:
    # Each inventory of inventories/ must pass the preflight and the syntax check below.
    found = sorted(path.parent.name for path in (REPO / "inventories").glob("*/hosts.yml"))
    assert found == sorted(ENVIRONMENTS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_preflight_passes_on_the_committed_inventory_with_a_valid_vault(runs, env) -> None:
    result = runs[f"valid-{env}"]
    assert result.returncode == 0, _output(result)[-3000:]


def test_vault_example_is_not_read_as_an_inventory_source(runs) -> None:
    # inventories/<env>/vault.example.yml sits in the inventory directory: without
    # `[inventory] ignore_patterns = vault\.example\.yml$` in ansible.cfg the YAML inventory
    # plugin reads it and warns about every vault_* name ("not a valid group definition").
    for env in ENVIRONMENTS:
        assert "not a valid group definition" not in _output(runs[f"valid-{env}"]), env


def test_preflight_refuses_the_placeholders_of_the_vault_example(runs) -> None:
    result = runs["example-production"]
    out = _output(result)
    assert result.returncode != 0
    for name in ("consul_gossip_key", "consul_acl_bootstrap_token", "traefik_dashboard_users",
                 "app_service_api_keys", "app_service_internal_token", "postgresql_databases",
                 "elasticsearch_elastic_password", "kibana_security_encryption_key",
                 "grafana_admin_password", "grafana_secret_key"):
        assert name in out, name
    assert "CHANGE-ME" not in out, "a secret's value must never be printed"


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_preflight_fails_on_a_broken_inventory_naming_the_variable(runs, case) -> None:
    result = runs[case]
    out = _output(result)
    assert result.returncode != 0, f"{case}: the preflight passed"
    for words in BROKEN[case][1]:
        assert words in out, f"{case}: {words!r} not in the failure:\n{out[-3000:]}"


def test_an_allowed_even_server_count_is_a_warning_not_a_failure(runs) -> None:
    result = runs["even_servers_allowed"]
    assert result.returncode == 0, _output(result)[-3000:]
    assert "an even number" in _output(result)


def test_preflight_fails_on_an_older_ansible_core_naming_the_minimum(runs) -> None:
    result = runs["old_ansible"]
    assert result.returncode != 0
    assert "inventory_check_min_ansible_version" in _output(result)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_site_yml_passes_the_syntax_check(runs, env) -> None:
    result = runs[f"syntax-{env}"]
    assert result.returncode == 0, _output(result)[-3000:]


# Vault variables that are empty except during an operation (a secret's rotation).
OPTIONAL_VAULT_VARIABLES = {"vault_app_service_internal_token_previous",
                            "vault_consul_traefik_token_previous",
                            "vault_consul_prometheus_token_previous",
                            "vault_consul_app_service_token_previous",
                            "vault_consul_app_discovery_token_previous",
                            "vault_postgresql_user_service_password_previous",
                            "vault_postgresql_order_service_password_previous"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vault_example_lists_every_vault_variable_the_inventory_uses(env) -> None:
    root = REPO / "inventories" / env
    used = set()
    for path in (root / "group_vars").rglob("*.yml"):
        if path.name != "vault.yml":
            used |= set(re.findall(r"\bvault_[a-z0-9_]+", path.read_text()))
    example = yaml.safe_load((root / "vault.example.yml").read_text())
    assert sorted(used - set(example)) == []
    assert all(value == "CHANGE-ME" or "CHANGE-ME" in str(value)
               for name, value in example.items() if name not in OPTIONAL_VAULT_VARIABLES)
    assert all(example.get(name, "") == "" for name in OPTIONAL_VAULT_VARIABLES)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_inventory_has_the_seven_groups_and_one_topic_per_group_vars_file(env) -> None:
    root = REPO / "inventories" / env
    children = yaml.safe_load((root / "hosts.yml").read_text())["all"]["children"]
    assert set(children) == {"consul_servers", "edge", "app_nodes", "databases",
                             "monitoring", "logging", "tracing"}
    for path in (root / "group_vars").iterdir():
        assert path.is_dir(), f"{path.name}: group_vars/<group>/<topic>.yml, not a file"


def test_sandbox_playbook_generates_every_vault_variable_of_the_sandbox() -> None:
    plays = yaml.safe_load((REPO / "playbooks/sandbox.yml").read_text())
    generated = set(plays[0]["vars"]["sandbox_vault"])
    example = set(yaml.safe_load((REPO / "inventories/sandbox/vault.example.yml").read_text()))
    assert sorted(example - generated) == []
    assert sorted(generated - example) == []


def test_services_layer_variables_are_where_the_services_role_reads_them() -> None:
    for env in ENVIRONMENTS:
        data = yaml.safe_load(
            (REPO / "inventories" / env / "group_vars/app_nodes/services.yml").read_text()
        )
        assert [s["name"] for s in data["flaskfleet_services"]] == [
            "user-service", "order-service", "api-gateway"]
        assert [s["port"] for s in data["flaskfleet_services"]] == [8101, 8201, 8401]
        expected = "registry" if env in ("staging", "production") else "archive"
        assert data["app_service_image_source"] == expected, env
        # A registry serves released tags; an image built from the checkout is tagged
        # with apps/' content digest, so a changed apps/ is never hidden behind a tag
        # the controller or a host already holds.
        if expected == "registry":
            assert data["app_service_image"] == "flaskfleet/services:1.0.0"
        else:
            assert data["app_service_image"] == (
                "flaskfleet/services:1.0.0-src.{{ flaskfleet_apps_digest }}")
            assert "flaskfleet.platform.source_digest" in data["flaskfleet_apps_digest"]
        assert data["app_service_api_keys"] == "{{ vault_app_service_api_keys }}"
        assert data["app_service_internal_token"] == "{{ vault_app_service_internal_token }}"
        # Traces go to the first tracing host's OTLP/HTTP receiver.
        assert data["app_service_otlp_endpoint"] == (
            "http://{{ groups['tracing'] | first }}:"
            "{{ hostvars[groups['tracing'] | first]['jaeger_otlp_http_port'] | default(4318) }}"
        ), env


# The filter itself, on plain dictionaries (no Ansible run).
GROUPS = {
    "all": ["a", "b", "c"],
    **{g: ["a"] for g in ("edge", "app_nodes", "databases", "monitoring", "logging", "tracing")},
    "consul_servers": ["a", "b", "c"],
}


def check(host_vars: dict, groups: dict | None = None, **kwargs) -> dict:
    groups = groups or GROUPS
    hostvars = {h: dict(host_vars) for h in groups["all"]}
    rules = {"prefixes": RULES["prefixes"], "accepted": RULES["accepted"],
             "removed": RULES["removed"], "secrets": kwargs.pop("secrets", [])}
    return inventory_check(hostvars, groups, rules, str(REPO / "roles"),
                           required_groups=list(GROUPS)[1:], **kwargs)


def test_filter_accepts_role_options_and_names_without_a_role_prefix() -> None:
    result = check({"consul_datacenter": "dc1", "traefik_dashboard_enabled": True,
                    "flaskfleet_services": [], "sandbox_image": "x", "ansible_user": "deploy"})
    assert result == {"errors": [], "warnings": []}


def test_filter_checks_a_role_prefix_against_every_entry_point_of_the_specs() -> None:
    # consul_service is an option of the register_service entry point only.
    assert check({"consul_service": {}})["errors"] == []


def test_filter_skips_prefixes_of_roles_that_do_not_exist_yet(tmp_path: Path) -> None:
    rules = {"prefixes": {"nosuchrole_": ["nosuchrole"]}}
    result = inventory_check({"a": {"nosuchrole_anything": 1}}, {"all": ["a"]}, rules,
                             str(tmp_path))
    assert result["errors"] == []


def test_filter_reports_each_bad_variable_once_with_its_hosts() -> None:
    errors = check({"prometheus_retention": "30d"})["errors"]
    assert errors == ["prometheus_retention is no option of the prometheus role; "
                      "did you mean prometheus_retention_time? (on all 3 hosts)"]


def test_filter_reports_a_missing_group() -> None:
    groups = {name: hosts for name, hosts in GROUPS.items() if name != "logging"}
    assert check({}, groups)["errors"] == ["group logging is missing from the inventory"]


def test_filter_refuses_more_than_seven_consul_servers() -> None:
    groups = {**GROUPS, "consul_servers": [f"s{i}" for i in range(9)]}
    assert "run at most 7 Consul servers" in " ".join(check({}, groups)["errors"])


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("gossip_key", base64.b64encode(b"x" * 20).decode(), "decodes to 20 bytes"),
        ("gossip_key", "not base64!", "is not base64"),
        ("uuid", "1234", "is not a UUID"),
        ("password", "tiny1", "shorter than 16"),
        ("password", "CHANGE-ME-CHANGE-ME", "placeholder"),
        ("htpasswd_list", ["admin:plaintext"], "item 0 is not a `user:<bcrypt hash>` line"),
        ("sha256_list", [{"name": "ci", "sha256": "abc"}], "sha256 is not 64 hex digits"),
        ("password_map", {"admin": "<generate me>"}, "password of admin is still a placeholder"),
        ("basic_auth", {"username": "p", "password": ""}, "password is empty"),
        ("databases", [{"name": "orders", "owner": "o"}], "[0] (orders): password is empty"),
        ("token_list", [{"name": "traefik", "secret_id": "x"}], "secret_id is not a UUID"),
    ],
)
def test_filter_refuses_a_malformed_secret_without_printing_it(kind, value, problem) -> None:
    secrets = [{"var": "some_secret", "kind": kind, "group": "all"}]
    errors = check({"some_secret": value}, secrets=secrets)["errors"]
    assert len(errors) == 1, errors
    assert problem in errors[0], errors
    assert not isinstance(value, str) or value not in errors[0]


def test_filter_skips_a_secret_whose_feature_is_off() -> None:
    secrets = [{"var": "traefik_dashboard_users", "kind": "htpasswd_list", "group": "edge",
                "when": "traefik_dashboard_enabled", "when_default": False}]
    assert check({}, secrets=secrets)["errors"] == []
    errors = check({"traefik_dashboard_enabled": True}, secrets=secrets)["errors"]
    assert errors == ["traefik_dashboard_users is not set (see vault.example.yml) (on a)"]


def test_filter_reports_a_secret_that_refers_to_an_undefined_vault_variable() -> None:
    secrets = [{"var": "postgresql_databases", "kind": "databases", "group": "databases"}]
    missing = StrictUndefined(name="vault_postgresql_order_service_password")
    value = [{"name": "orders", "owner": "order_service", "password": missing}]
    errors = check({"postgresql_databases": value}, secrets=secrets)["errors"]
    assert errors == ["postgresql_databases cannot be resolved: "
                      "'vault_postgresql_order_service_password' is undefined (on a)"]
