"""Fixtures: each service as an app and a test client (SQLite, fresh per test, like flaskr),
a running user+order stack on loopback for the gateway, and session-wide real PostgreSQL and
Consul servers for the integration tests (they fail, never skip, when a prerequisite is missing).
"""

from __future__ import annotations

import pytest
from consulagent import ConsulAgent
from flaskfleet_services import api_gateway, order_service, user_service
from flaskfleet_services.kit.db import Database
from helpers import API_KEYS, ServerThread
from pginstance import PostgresInstance


def make_user_app(db_url: str, **config):
    app = user_service.create_app({"DATABASE_URL": db_url, "TESTING": True, **config})
    app.extensions["flaskfleet.db"].upgrade(user_service.MIGRATIONS)
    return app


def make_order_app(db_url: str, user_urls: tuple[str, ...], **config):
    app = order_service.create_app({
        "DATABASE_URL": db_url, "TESTING": True, "DISCOVERY": "static",
        "STATIC_UPSTREAMS": {"user-service": user_urls}, "UPSTREAM_READ_TIMEOUT": 2.0,
        **config})
    app.extensions["flaskfleet.db"].upgrade(order_service.MIGRATIONS)
    return app


def make_gateway_app(upstreams: dict[str, tuple[str, ...]], **config):
    return api_gateway.create_app({
        "TESTING": True, "DISCOVERY": "static", "STATIC_UPSTREAMS": upstreams,
        "API_KEYS": API_KEYS, "UPSTREAM_READ_TIMEOUT": 2.0, **config})


@pytest.fixture(autouse=True)
def _close_database_pools():
    """Every test leaves no open database connection behind (ResourceWarnings are errors)."""
    yield
    Database.dispose_all()


@pytest.fixture
def app(tmp_path):
    """user-service on a fresh SQLite database."""
    return make_user_app(f"sqlite:///{tmp_path}/users.db")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def user_server(app):
    server = ServerThread(app)
    yield server
    server.stop()


@pytest.fixture
def order_app(tmp_path, user_server):
    return make_order_app(f"sqlite:///{tmp_path}/orders.db", (user_server.url,))


@pytest.fixture
def order_client(order_app):
    return order_app.test_client()


@pytest.fixture
def order_server(order_app):
    server = ServerThread(order_app)
    yield server
    server.stop()


@pytest.fixture
def gateway_app(user_server, order_server):
    return make_gateway_app({"user-service": (user_server.url,),
                             "order-service": (order_server.url,)})


@pytest.fixture
def gateway(gateway_app):
    """A test client of the gateway in front of real user- and order-service servers."""
    return gateway_app.test_client()


@pytest.fixture(scope="session")
def postgres():
    instance = PostgresInstance().start()
    yield instance
    instance.stop()


@pytest.fixture
def pg_url(postgres):
    """A fresh, empty PostgreSQL database for one test."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture(scope="session")
def consul():
    agent = ConsulAgent().start()
    yield agent
    agent.stop()
