"""Configuration from the environment is validated at start-up; the CLI commands work."""

from __future__ import annotations

import subprocess
import sys

import pytest
from flaskfleet_services import api_gateway, cli, order_service, user_service
from flaskfleet_services.kit.config import INTERNAL, ConfigError, load, static_upstreams
from flaskfleet_services.kit.security import hash_key
from sqlalchemy import inspect


def test_user_service_refuses_to_start_without_database_url(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="DATABASE_URL is required"):
        user_service.create_app()


def test_gateway_refuses_to_start_without_api_keys(monkeypatch):
    monkeypatch.delenv("FLASKFLEET_API_KEYS", raising=False)
    with pytest.raises(ConfigError, match="FLASKFLEET_API_KEYS is required"):
        api_gateway.create_app()


@pytest.mark.parametrize(("factory", "env", "value"), [
    (api_gateway, "FLASKFLEET_UPSTREAM_READ_TIMEOUT", "soon"),
    (api_gateway, "FLASKFLEET_UPSTREAM_RETRIES", "9"),
    (api_gateway, "FLASKFLEET_DISCOVERY", "dns"),
    (api_gateway, "CONSUL_HTTP_ADDR", "not a url"),
    (api_gateway, "FLASKFLEET_API_KEYS", "me:plaintext"),
    (user_service, "FLASKFLEET_ALLOWED_NETWORKS", "10.0.0.0/33"),
    (user_service, "FLASKFLEET_MAX_BODY_BYTES", "-1"),
    (user_service, "FLASKFLEET_LOG_LEVEL", "loud"),
    (user_service, "FLASKFLEET_INTERNAL_TOKENS_ACCEPTED", "old-token,new token"),
    (order_service, "FLASKFLEET_INTERNAL_TOKENS_ACCEPTED", "old-\x07token"),
    (order_service, "FLASKFLEET_DB_POOL_SIZE", "0")])
def test_bad_environment_value_is_refused_naming_the_variable(monkeypatch, tmp_path, factory,
                                                             env, value):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("FLASKFLEET_API_KEYS", "ci:" + hash_key("k"))
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=env):
        factory.create_app()


@pytest.mark.parametrize(("raw", "tokens"), [
    ("old-0123", ("old-0123",)),
    (" old-0123 , ,new-4567,\n", ("old-0123", "new-4567")),
    ("a:b/c+d=e~!", ("a:b/c+d=e~!",)),
    (" , ,, ", ()),  # only separators and blanks: no extra token
    ("", ())])
def test_accepted_internal_tokens_are_read_from_the_environment(monkeypatch, tmp_path, raw,
                                                                tokens):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/u.db")
    monkeypatch.setenv("FLASKFLEET_INTERNAL_TOKENS_ACCEPTED", raw)
    assert user_service.create_app().config["INTERNAL_TOKENS_ACCEPTED"] == tokens


@pytest.mark.parametrize("raw", [
    "old-0123,new 4567",  # whitespace inside a token
    "old-0123,new\t4567",
    "old-0123,\x00new4567",  # control characters
    "old-0123,new4567\x7f",
    "old-0123,néw-4567",  # non-ASCII: a header carries it differently per client
    "old-0123,new\u00a04567"])
def test_malformed_accepted_internal_tokens_are_refused_without_echoing_them(raw):
    with pytest.raises(ConfigError) as exc:
        load(INTERNAL, {"FLASKFLEET_INTERNAL_TOKENS_ACCEPTED": raw})
    message = str(exc.value)
    assert "FLASKFLEET_INTERNAL_TOKENS_ACCEPTED: entry 2 is not a token" in message
    assert "printable ASCII without whitespace" in message
    # The tokens are secrets: the message (logged at start-up) shows none of them.
    assert "old-0123" not in message
    assert "4567" not in message


def test_environment_configures_the_gateway(monkeypatch):
    monkeypatch.setenv("FLASKFLEET_API_KEYS", "ci:" + hash_key("k"))
    monkeypatch.setenv("FLASKFLEET_DISCOVERY", "static")
    monkeypatch.setenv("FLASKFLEET_UPSTREAM_USER_SERVICE", "http://10.0.0.1:8000,http://h:1/")
    monkeypatch.setenv("FLASKFLEET_UPSTREAM_ORDER_SERVICE", "http://10.0.0.2:8000")
    monkeypatch.setenv("FLASKFLEET_UPSTREAM_READ_TIMEOUT", "1.5")
    app = api_gateway.create_app()
    assert app.config["UPSTREAM_READ_TIMEOUT"] == 1.5
    discovery = app.extensions["flaskfleet.discovery"]
    assert discovery.instances("user-service") == ["http://10.0.0.1:8000", "http://h:1"]


def test_static_upstream_must_be_http_urls():
    with pytest.raises(ConfigError, match="FLASKFLEET_UPSTREAM_USER_SERVICE"):
        static_upstreams({"FLASKFLEET_UPSTREAM_USER_SERVICE": "ftp://x"}, ["user-service"])


def test_app_creation_does_not_create_the_schema(tmp_path):
    app = order_service.create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/o.db",
                                    "DISCOVERY": "static", "STATIC_UPSTREAMS": {}})
    assert inspect(app.extensions["flaskfleet.db"].engine).get_table_names() == []


def test_flask_migrate_command_creates_the_schema_and_is_repeatable(tmp_path):
    app = user_service.create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/u.db"})
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["migrate"])
        assert result.exit_code == 0, result.output
    tables = inspect(app.extensions["flaskfleet.db"].engine).get_table_names()
    assert set(tables) == {"users", "alembic_version_user_service"}


def test_flaskfleet_migrate_command_uses_database_url(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/o.db", "FLASKFLEET_DISCOVERY": "static",
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "flaskfleet_services.cli", "migrate",
                             "order-service"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "order-service: schema is at the latest revision" in result.stdout


def test_hash_api_key_prints_the_sha256_digest():
    result = subprocess.run([sys.executable, "-m", "flaskfleet_services.cli", "hash-api-key"],
                            input="s3cret\n", capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == hash_key("s3cret")


def test_commands_need_a_known_service(monkeypatch):
    monkeypatch.delenv("FLASKFLEET_SERVICE", raising=False)
    with pytest.raises(SystemExit, match="name a service"):
        cli.main(["serve"])


def test_healthcheck_command_fails_when_nothing_listens():
    with pytest.raises(SystemExit) as exc:
        cli.main(["healthcheck", "--url", "http://127.0.0.1:9/health/live", "--timeout", "1"])
    assert exc.value.code == 1
