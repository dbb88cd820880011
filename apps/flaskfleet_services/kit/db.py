"""The database of a service: one engine per process, one session per request, explicit migrations.

PostgreSQL in every real deployment (``DATABASE_URL=postgresql://…``); SQLite is accepted for the
fast unit tests only. The schema is created and migrated by ``flaskfleet migrate <service>`` (or
``flask --app flaskfleet_services.<service> migrate``), never on import or at start-up.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from flask import Flask, current_app, g
from sqlalchemy import Numeric, String, create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class ExactDecimal(TypeDecorator):
    """NUMERIC(precision, scale) on PostgreSQL; a string on SQLite, which has no exact decimal."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int):
        super().__init__(precision, scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return str(Decimal(value).quantize(Decimal(1).scaleb(-self.scale)))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).quantize(Decimal(1).scaleb(-self.scale))


def engine_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith(("postgresql", "sqlite")):
        raise ValueError(f"unsupported database {parsed.drivername!r} (PostgreSQL, or SQLite "
                         "for unit tests)")
    return parsed.render_as_string(hide_password=False)


class Database:
    _all: ClassVar[list[Database]] = []

    @classmethod
    def dispose_all(cls) -> None:
        """Close every pooled connection of the process (worker exit, end of a test)."""
        while cls._all:
            cls._all.pop().engine.dispose()

    def __init__(self, url: str, pool_size: int = 10):
        url = engine_url(url)
        if url.startswith("sqlite"):
            self.engine: Engine = create_engine(url, connect_args={"check_same_thread": False})
        else:
            self.engine = create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                pool_recycle=1800, pool_timeout=5,
                connect_args={"connect_timeout": 3,
                              "options": "-c statement_timeout=10000 "
                                         "-c idle_in_transaction_session_timeout=30000"})
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reads run one statement each: autocommit spares the BEGIN/ROLLBACK round trips.
        self.read_sessions = sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
        Database._all.append(self)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def check(self) -> tuple[bool, str]:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True, f"{self.dialect} answers"

    def upgrade(self, service: str, revision: str = "head") -> None:
        """Apply the service's migrations; concurrent runs on PostgreSQL wait for each other."""
        from alembic import command  # only the migrate command needs alembic loaded
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS / service))
        cfg.attributes["version_table"] = f"alembic_version_{service}"
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": zlib.crc32(service.encode())})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)


def install(app: Flask) -> Database:
    database = Database(app.config["DATABASE_URL"], app.config["DB_POOL_SIZE"])
    app.extensions["flaskfleet.db"] = database

    @app.teardown_appcontext
    def _close_session(_exc):
        for name in ("db_session", "db_read_session"):
            session = g.pop(name, None)
            if session is not None:
                session.close()  # rolls back whatever was not committed

    return database


def session() -> Session:
    """The request's transactional session (one per request, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["flaskfleet.db"].sessions()
    return g.db_session


def read_session() -> Session:
    """The request's session for a single read statement (autocommit, no transaction)."""
    if "db_read_session" not in g:
        g.db_read_session = current_app.extensions["flaskfleet.db"].read_sessions()
    return g.db_read_session
