"""The jaeger role's index cleaner against the Elasticsearch stand-in, and its units.

The cleaner (roles/jaeger/files/jaeger_index_cleaner.py) is copied as the role installs it
(``jaeger-index-cleaner``, mode 0755, run through its ``#!/usr/bin/python3`` line) and run
with the configuration JSON that the role renders from its own defaults and vars, against the
Elasticsearch stand-in's REST server (tests/standins/elasticsearch: upstream's response shapes,
HTTPS, basic auth and index privileges enforced). The ``jaeger_writer`` role is the one the
production inventory gives Elasticsearch, so the test also proves its privileges suffice.
The role's systemd units and the retention preflight are rendered/run with Ansible.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from local_tls import free_port, write_pki
from role_templates import render, role_templar
from source_module import load_source

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "jaeger"
CLEANER = ROLE / "files" / "jaeger_index_cleaner.py"
STANDIN = REPO / "tests" / "standins" / "elasticsearch" / "elasticsearch_standin.py"
UNITS = ROLE / "templates" / "etc" / "systemd" / "system"
es = load_source("elasticsearch_standin_for_jaeger_cleaner", STANDIN)
cleaner = load_source("jaeger_index_cleaner", CLEANER)

ADMIN = ("elastic", "bootstrap-pw")
WRITER_PASSWORD = "writer-pw-for-tests"
RETENTION = 7


class Cluster:
    """The stand-in's REST server over HTTPS, and a JSON client for it."""

    def __init__(self, url: str, ca: Path) -> None:
        self.url = url
        self.ca = ca
        self.context = ssl.create_default_context(cafile=str(ca))

    def __call__(
        self, method: str, path: str, body: object = None, auth: tuple[str, str] = ADMIN
    ) -> tuple[int, object]:
        headers = {
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(":".join(auth).encode()).decode(),
        }
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def indices(self) -> set[str]:
        status, body = self("GET", "/*/_settings")
        assert status == 200, body
        return set(body)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    write_pki(directory, "node")
    return directory


def inventory_jaeger_writer() -> dict:
    """The jaeger_writer role as the production inventory gives it to Elasticsearch."""
    path = REPO / "inventories" / "production" / "group_vars" / "logging" / "elasticsearch.yml"
    roles = yaml.safe_load(path.read_text())["elasticsearch_roles"]
    role = next(r for r in roles if r["name"] == "jaeger_writer")
    return {"cluster": role["cluster"], "indices": role["indices"]}


@pytest.fixture
def cluster(pki: Path, tmp_path: Path):
    settings = {"xpack.security.enabled": True, "action.destructive_requires_name": True}
    state = es.State(tmp_path / "es-data", "bootstrap-pw")
    handler = type("CleanerTestHandler", (es.Handler,), {"node": es.Node(settings, state, None)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "node.pem", pki / "node-key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    node = Cluster(f"https://127.0.0.1:{server.server_address[1]}", pki / "ca.pem")
    # The inventory's writer, and a reader that may list but not delete.
    assert node("PUT", "/_security/role/jaeger_writer", inventory_jaeger_writer())[0] == 200
    reader = {
        "cluster": ["monitor"],
        "indices": [{"names": ["jaeger-*"], "privileges": ["read", "view_index_metadata"]}],
    }
    assert node("PUT", "/_security/role/jaeger_reader", reader)[0] == 200
    for user, role in (("jaeger_writer", "jaeger_writer"), ("jaeger_reader", "jaeger_reader")):
        body = {"password": WRITER_PASSWORD, "roles": [role]}
        assert node("PUT", f"/_security/user/{user}", body)[0] == 200
    yield node
    server.shutdown()
    server.server_close()


def day(today: dt.date, days_ago: int) -> str:
    return (today - dt.timedelta(days=days_ago)).isoformat()


def create_indices(node: Cluster) -> tuple[dt.date, set[str], set[str]]:
    """Jaeger's daily indices (prefix "jaeger", as the inventories set it) and others.

    Returns (today, the indices the cleaner must delete, those it must keep)."""
    today = dt.datetime.now(dt.UTC).date()
    old = {
        f"jaeger-jaeger-span-{day(today, 30)}",
        f"jaeger-jaeger-service-{day(today, 30)}",
        f"jaeger-jaeger-dependencies-{day(today, 30)}",
        f"jaeger-jaeger-span-{day(today, RETENTION + 1)}",  # the newest that goes
    }
    keep = {
        f"jaeger-jaeger-span-{day(today, RETENTION)}",  # the oldest that stays
        f"jaeger-jaeger-service-{day(today, RETENTION)}",
        f"jaeger-jaeger-span-{day(today, 0)}",
        f"jaeger-jaeger-service-{day(today, 0)}",
        "jaeger-jaeger-span-archive",  # no date: never touched
        "jaeger-jaeger-span-000001",  # a rollover index: never touched
        "jaeger-jaeger-span-2020-13-45",  # not a date: never touched
        "jaeger-jaeger-span-2020-01-01-extra",  # does not end with the date
        "jaeger-span-2020-01-01",  # no "jaeger-" prefix
        "other-jaeger-span-2020-01-01",  # another prefix
        "flaskfleet-logs-2020.01.01",  # unrelated
    }
    for name in sorted(old | keep):
        status, body = node("POST", f"/{name}/_doc", {"traceID": "abc"})
        assert status == 201, body
    assert node.indices() == old | keep
    return today, old, keep


def render_config(
    tmp_path: Path,
    node: Cluster,
    urls: list[str] | None = None,
    username: str = "jaeger_writer",
    **overrides: object,
) -> Path:
    """/etc/jaeger/index-cleaner.json as the role writes it, and the password file."""
    password_file = tmp_path / "elasticsearch_password"
    password_file.write_text(WRITER_PASSWORD)
    templar = role_templar(
        ROLE,
        jaeger_storage_backend="elasticsearch",
        jaeger_elasticsearch_urls=urls or [node.url],
        jaeger_elasticsearch_index_prefix="jaeger",
        jaeger_elasticsearch_username=username,
        jaeger_elasticsearch_password=WRITER_PASSWORD,
        jaeger_elasticsearch_ca_file=str(node.ca),
        __jaeger_es_password_file=str(password_file),
        **overrides,
    )
    config = tmp_path / "index-cleaner.json"
    config.write_text(render(templar, "{{ __jaeger_index_cleaner_config | to_nice_json }}\n"))
    return config


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """The cleaner where and as the role installs it (name without .py, mode 0755)."""
    path = tmp_path / "libexec" / "jaeger-index-cleaner"
    path.parent.mkdir()
    shutil.copy(CLEANER, path)
    path.chmod(0o755)
    return path


def run(installed: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    command = (
        [str(installed)] if Path("/usr/bin/python3").exists() else [sys.executable, str(installed)]
    )
    return subprocess.run(
        [*command, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ, LANG="C"),
    )


def same_day(today: dt.date) -> None:
    if dt.datetime.now(dt.UTC).date() != today:
        pytest.skip("the UTC day changed during the test; the boundary moved")


def test_the_rendered_configuration_names_what_jaeger_uses(
    tmp_path: Path, cluster: Cluster
) -> None:
    config = json.loads(render_config(tmp_path, cluster).read_text())
    assert config == {
        "urls": [cluster.url],
        "index_prefix": "jaeger",
        "retention_days": 7,
        "username": "jaeger_writer",
        "password_file": str(tmp_path / "elasticsearch_password"),
        "ca_file": str(cluster.ca),
    }
    assert WRITER_PASSWORD not in json.dumps(config)


def test_dry_run_deletes_nothing_and_the_run_deletes_exactly_the_old_jaeger_indices(
    tmp_path: Path, cluster: Cluster, installed: Path
) -> None:
    today, old, keep = create_indices(cluster)
    config = render_config(tmp_path, cluster)

    dry = run(installed, config, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert sorted(
        line.split()[-1] for line in dry.stdout.splitlines() if line.startswith("would delete")
    ) == sorted(old)
    assert "dry run" in dry.stdout
    assert cluster.indices() == old | keep

    result = run(installed, config)
    same_day(today)
    assert result.returncode == 0, result.stderr
    assert sorted(
        line.split()[-1] for line in result.stdout.splitlines() if line.startswith("deleted")
    ) == sorted(old)
    assert cluster.indices() == keep

    again = run(installed, config)
    assert again.returncode == 0, again.stderr
    assert "deleted" not in again.stdout
    assert cluster.indices() == keep


def test_the_retention_can_be_overridden_for_one_run(
    tmp_path: Path, cluster: Cluster, installed: Path
) -> None:
    today, old, keep = create_indices(cluster)
    result = run(installed, render_config(tmp_path, cluster), "--retention-days", "40")
    same_day(today)
    assert result.returncode == 0, result.stderr
    assert cluster.indices() == old | keep


def test_a_user_without_delete_index_fails_clearly_and_deletes_nothing(
    tmp_path: Path, cluster: Cluster, installed: Path
) -> None:
    _, old, keep = create_indices(cluster)
    result = run(installed, render_config(tmp_path, cluster, username="jaeger_reader"))
    assert result.returncode == 1
    assert "HTTP 403 security_exception" in result.stderr
    assert "indices:admin/delete" in result.stderr
    assert "needs the delete_index privilege" in result.stderr
    assert WRITER_PASSWORD not in result.stdout + result.stderr
    assert cluster.indices() == old | keep


def test_a_wrong_password_fails_with_the_authentication_error(
    tmp_path: Path, cluster: Cluster, installed: Path
) -> None:
    config = render_config(tmp_path, cluster)
    (tmp_path / "elasticsearch_password").write_text("not-the-password")
    result = run(installed, config)
    assert result.returncode == 1
    assert "HTTP 401 security_exception" in result.stderr
    assert "unable to authenticate user [jaeger_writer]" in result.stderr


def test_the_next_url_is_tried_when_one_does_not_answer(
    tmp_path: Path, cluster: Cluster, installed: Path
) -> None:
    today, _, keep = create_indices(cluster)
    dead = f"https://127.0.0.1:{free_port()}"
    result = run(installed, render_config(tmp_path, cluster, urls=[dead, cluster.url]))
    same_day(today)
    assert result.returncode == 0, result.stderr
    assert cluster.indices() == keep


def test_no_url_answering_is_a_failure_naming_each(
    tmp_path: Path, cluster: Cluster, installed: Path
) -> None:
    dead = [f"https://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    result = run(installed, render_config(tmp_path, cluster, urls=dead))
    assert result.returncode == 1
    assert "no Elasticsearch URL answered" in result.stderr
    assert all(url in result.stderr for url in dead)


def test_a_bad_configuration_is_a_usage_error(
    tmp_path: Path, cluster: Cluster, installed: Path
) -> None:
    config = render_config(tmp_path, cluster)
    assert run(installed, config, "--retention-days", "0").returncode == 2
    assert "at least 1" in run(installed, config, "--retention-days", "-3").stderr
    (tmp_path / "elasticsearch_password").unlink()
    missing = run(installed, config)
    assert missing.returncode == 2
    assert "cannot read the password file" in missing.stderr
    assert run(installed, tmp_path / "absent.json").returncode == 2


@pytest.mark.parametrize(
    ("prefix", "name", "expected"),
    [
        ("jaeger", "jaeger-jaeger-span-2026-11-19", True),
        ("jaeger", "jaeger-jaeger-span-2026-11-20", False),  # exactly the retention: kept
        ("jaeger", "jaeger-jaeger-sampling-2026-01-01", True),
        ("jaeger", "jaeger-jaeger-span-2026-02-30", False),  # no such day
        ("jaeger", "jaeger-jaeger-spans-2026-01-01", False),
        ("jaeger", "jaeger-jaeger-span-2026-01-01-05", False),  # hourly layout: not ours
        ("jaeger-", "jaeger-jaeger-service-2026-01-01", True),  # upstream: no double "-"
        ("", "jaeger-span-2026-01-01", True),
        ("", "x-jaeger-span-2026-01-01", False),
        ("prod", "jaeger-jaeger-span-2026-01-01", False),
    ],
)
def test_which_names_expire(prefix: str, name: str, expected: bool) -> None:
    base = cleaner.index_base(prefix)
    assert (cleaner.expired([name], base, 7, dt.date(2026, 11, 27)) == [name]) is expected


def test_the_standin_refuses_wildcard_deletes_and_404s_a_missing_index(cluster: Cluster) -> None:
    cluster("POST", "/jaeger-jaeger-span-2020-01-01/_doc", {"traceID": "abc"})
    status, body = cluster("DELETE", "/jaeger-*")
    assert status == 400
    assert body["error"]["reason"] == "Wildcard expressions or all indices are not allowed"
    status, body = cluster("DELETE", "/jaeger-jaeger-span-1999-01-01")
    assert status == 404
    assert body["error"]["type"] == "index_not_found_exception"
    assert body["error"]["index"] == "jaeger-jaeger-span-1999-01-01"
    assert cluster("GET", "/nothing-*/_settings") == (200, {})
    writer = ("jaeger_writer", WRITER_PASSWORD)
    status, body = cluster("GET", "/*/_settings", auth=writer)
    assert (status, set(body)) == (200, {"jaeger-jaeger-span-2020-01-01"})
    assert cluster("DELETE", "/jaeger-jaeger-span-2020-01-01", auth=writer) == (
        200,
        {"acknowledged": True},
    )
    assert cluster.indices() == set()


# --------------------------------------------------------------------------- the role
def render_unit(name: str, **overrides: object) -> str:
    templar = role_templar(
        ROLE,
        jaeger_storage_backend="elasticsearch",
        jaeger_elasticsearch_urls=["https://logging1:9200"],
        **overrides,
    )
    return render(templar, UNITS / f"{name}.j2")


def hardening(unit: str) -> set[str]:
    keys = ("NoNewPrivileges", "Protect", "PrivateTmp", "Restrict", "LockPersonality")
    return {line for line in unit.splitlines() if line.startswith(keys)}


def test_the_units_run_the_cleaner_daily_as_jaeger_hardened_like_the_main_unit() -> None:
    service = render_unit(
        "jaeger-index-cleaner.service", jaeger_elasticsearch_password=WRITER_PASSWORD
    )
    timer = render_unit("jaeger-index-cleaner.timer")
    main = render_unit("jaeger.service")
    lines = service.splitlines()
    assert "Type=oneshot" in lines
    assert "User=jaeger" in lines
    assert "Group=jaeger" in lines
    assert (
        "ExecStart=/usr/local/libexec/flaskfleet/jaeger-index-cleaner "
        "--config /etc/jaeger/index-cleaner.json"
    ) in lines
    assert hardening(main) <= hardening(service)
    assert "ProtectSystem=strict" in lines
    assert "ReadWritePaths" not in service
    assert WRITER_PASSWORD not in service
    assert "[Install]" not in service  # started by the timer only
    assert "OnCalendar=*-*-* 00:30:00 UTC" in timer.splitlines()
    assert "Persistent=true" in timer.splitlines()
    assert "WantedBy=timers.target" in timer.splitlines()
    analyze = shutil.which("systemd-analyze")
    if analyze:
        calendar = subprocess.run(
            [analyze, "calendar", "*-*-* 00:30:00 UTC"], capture_output=True, text=True, check=False
        )
        assert calendar.returncode == 0, calendar.stderr


@pytest.mark.parametrize(
    ("backend", "retention", "enabled"),
    [
        ("elasticsearch", 7, True),
        ("elasticsearch", "30", True),
        ("elasticsearch", 0, False),
        ("badger", 7, False),
        ("memory", 7, False),
    ],
)
def test_the_cleaner_is_installed_only_for_elasticsearch_with_a_retention(
    backend: str, retention: object, enabled: bool
) -> None:
    templar = role_templar(
        ROLE, jaeger_storage_backend=backend, jaeger_elasticsearch_retention_days=retention
    )
    assert render(templar, "{{ __jaeger_index_cleaner_enabled | bool }}") is enabled


def test_the_preflight_refuses_a_negative_or_non_integer_retention(tmp_path: Path) -> None:
    """roles/jaeger/tasks/preflight.yml run by ansible-playbook on localhost, per value."""
    values = {
        "seven": "seven",
        "negative": -1,
        "fraction": 1.5,
        "boolean": True,
        "zero": 0,
        "seven_days": 7,
        "string_days": "14",
    }
    tasks = []
    for label, value in values.items():
        tasks.append(
            {
                "block": [
                    {
                        "ansible.builtin.include_tasks": str(ROLE / "tasks" / "preflight.yml"),
                        "vars": {"jaeger_elasticsearch_retention_days": value},
                    },
                    {"ansible.builtin.set_fact": {f"result_{label}": "accepted"}},
                ],
                "rescue": [
                    {
                        "ansible.builtin.set_fact": {
                            f"result_{label}": "{{ ansible_failed_result.msg | default('') }}"
                        }
                    },
                ],
            }
        )
    results = ", ".join(f"'{label}': result_{label}" for label in values)
    tasks.append(
        {
            "ansible.builtin.copy": {
                "dest": str(tmp_path / "results.json"),
                "content": "{{ {" + results + "} | to_json }}",
                "mode": "0644",
            }
        }
    )
    play = {
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars_files": [str(ROLE / "defaults/main.yml"), str(ROLE / "vars/main.yml")],
        "tasks": tasks,
    }
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(json.dumps([play]))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            str(playbook),
            "-e",
            json.dumps({"ansible_python_interpreter": sys.executable}),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    got = json.loads((tmp_path / "results.json").read_text())
    for label in ("seven", "negative", "fraction", "boolean"):
        assert "jaeger_elasticsearch_retention_days must be a whole number" in got[label], label
    for label in ("zero", "seven_days", "string_days"):
        assert got[label] == "accepted", (label, got[label])
