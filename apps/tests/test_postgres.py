"""On a real PostgreSQL: explicit migrations, schema = models, exact money, and no lost write
under concurrent requests to real HTTP servers."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import make_order_app, make_user_app
from flaskfleet_services import order_service, user_service
from flaskfleet_services.kit.db import Database
from helpers import ServerThread
from sqlalchemy import inspect

pytestmark = pytest.mark.postgres


def run_parallel(n: int, func):
    barrier = threading.Barrier(n)

    def call(i):
        barrier.wait(10)
        return func(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(call, range(n)))


@pytest.fixture
def user_pg(pg_url):
    server = ServerThread(make_user_app(pg_url, DB_POOL_SIZE=20))
    yield server
    server.stop()


@pytest.fixture
def order_pg(pg_url, user_pg):
    server = ServerThread(make_order_app(pg_url, (user_pg.url,), DB_POOL_SIZE=20))
    yield server
    server.stop()


def test_schema_exists_only_after_the_explicit_migration(pg_url):
    app = user_service.create_app({"DATABASE_URL": pg_url})
    engine = app.extensions["flaskfleet.db"].engine
    assert inspect(engine).get_table_names() == []
    assert app.test_cli_runner().invoke(args=["migrate"]).exit_code == 0
    assert "users" in inspect(engine).get_table_names()


@pytest.mark.parametrize(("module", "base"), [(user_service, user_service.Base),
                                              (order_service, order_service.Base)])
def test_migrations_produce_exactly_the_models_schema(pg_url, module, base):
    database = Database(pg_url)
    database.upgrade(module.MIGRATIONS)
    def own(name, kind, _parent):  # the service's tables only (not alembic's version table)
        return kind != "table" or name in base.metadata.tables

    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": own})
        assert compare_metadata(context, base.metadata) == []


def test_concurrent_migrations_of_both_services_all_succeed(pg_url):
    env = {"DATABASE_URL": pg_url, "FLASKFLEET_DISCOVERY": "static", "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-m", "flaskfleet_services.cli", "migrate",
                               service], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
             for service in ("user-service", "order-service") * 2]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    database = Database(pg_url)
    tables = set(inspect(database.engine).get_table_names())
    database.engine.dispose()
    assert {"users", "orders", "order_items"} <= tables


def test_money_is_stored_as_exact_numeric(order_pg, user_pg, pg_url):
    uid = requests.post(user_pg.url + "/users", json={"name": "A", "email": "a@example.org"},
                        timeout=5).json()["id"]
    body = {"user_id": uid, "items": [{"sku": "a", "quantity": 3, "unit_price": "0.10"},
                                      {"sku": "b", "quantity": 10_000,
                                       "unit_price": "99999999.99"}]}
    order = requests.post(order_pg.url + "/orders", json=body, timeout=5).json()
    assert order["total"] == "999999999900.30"
    with psycopg.connect(pg_url) as conn:
        total = conn.execute("SELECT total FROM orders").fetchone()[0]
        kind = conn.execute("SELECT data_type FROM information_schema.columns "
                            "WHERE table_name='orders' AND column_name='total'").fetchone()[0]
    assert total == Decimal("999999999900.30")
    assert kind == "numeric"


def test_concurrent_creates_with_one_email_make_exactly_one_user(user_pg):
    def create(i):
        return requests.post(user_pg.url + "/users", timeout=10,
                             json={"name": f"n{i}", "email": "same@example.org"}).status_code

    statuses = run_parallel(16, create)
    assert sorted(statuses) == [201] + [409] * 15
    assert len(requests.get(user_pg.url + "/users", timeout=5).json()["items"]) == 1


def test_concurrent_updates_of_one_user_lose_no_write(user_pg):
    uid = requests.post(user_pg.url + "/users", json={"name": "A", "email": "a@example.org"},
                        timeout=5).json()["id"]
    rounds = 12

    def patch(i):
        body = {"name": f"name-{i}"} if i % 2 else {"email": f"e{i}@example.org"}
        return requests.patch(f"{user_pg.url}/users/{uid}", json=body, timeout=10).status_code

    assert run_parallel(rounds, patch) == [200] * rounds
    final = requests.get(f"{user_pg.url}/users/{uid}", timeout=5).json()
    assert final["version"] == 1 + rounds  # every update counted: none overwrote another
    assert final["name"].startswith("name-")
    assert final["email"].startswith("e")


def test_concurrent_order_creation_keeps_every_order_and_item(order_pg, user_pg, pg_url):
    uid = requests.post(user_pg.url + "/users", json={"name": "A", "email": "a@example.org"},
                        timeout=5).json()["id"]

    def create(i):
        return requests.post(order_pg.url + "/orders", timeout=10, json={
            "user_id": uid, "items": [{"sku": f"s{i}", "quantity": 1, "unit_price": "1.10"},
                                      {"sku": "x", "quantity": 2, "unit_price": "0.45"}]})

    responses = run_parallel(20, create)
    assert [r.status_code for r in responses] == [201] * 20
    assert len({r.json()["id"] for r in responses}) == 20
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*), sum(total) FROM orders").fetchone() == (
            20, Decimal("40.00"))
        assert conn.execute("SELECT count(*) FROM order_items").fetchone()[0] == 40


def test_concurrent_cancels_of_one_order_succeed_exactly_once(order_pg, user_pg):
    uid = requests.post(user_pg.url + "/users", json={"name": "A", "email": "a@example.org"},
                        timeout=5).json()["id"]
    oid = requests.post(order_pg.url + "/orders", timeout=5, json={
        "user_id": uid, "items": [{"sku": "a", "quantity": 1, "unit_price": "1.00"}]}).json()["id"]
    statuses = run_parallel(10, lambda _i: requests.post(
        f"{order_pg.url}/orders/{oid}/cancel", timeout=10).status_code)
    assert sorted(statuses) == [200] + [409] * 9
    order = requests.get(f"{order_pg.url}/orders/{oid}", timeout=5).json()
    assert (order["status"], order["version"]) == ("cancelled", 2)


def test_huge_ids_never_reach_postgres_as_errors(user_pg):
    for path in ("/users/9223372036854775807", "/users/9223372036854775808"):
        assert requests.get(user_pg.url + path, timeout=5).status_code == 404


def test_readiness_fails_when_postgres_refuses(tmp_path):
    app = user_service.create_app({"DATABASE_URL": "postgresql://u@127.0.0.1:9/none"})
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.json["error"]["details"]["checks"]["database"]["ok"] is False


def test_database_down_on_write_is_a_json_500_not_a_traceback():
    app = user_service.create_app({"DATABASE_URL": "postgresql://u@127.0.0.1:9/none"})
    response = app.test_client().post("/users", json={"name": "a", "email": "a@example.org"})
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
