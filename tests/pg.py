"""A real PostgreSQL for the tests: throw-away databases on COURSE_TEST_POSTGRES_URL's server.

Each database (``course_test_<random>``) is created through the ``postgres`` maintenance
database and dropped at the end of the session, so concurrent runs never collide. When the
server is unreachable the tests that need it are skipped, except in CI (CI=true), where a
missing database must fail the run rather than silently shrink it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from controller.db.engine import make_engine
from controller.db.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class PostgresServer:
    """Creates throw-away databases on the server named by COURSE_TEST_POSTGRES_URL."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.created: list[str] = []
        self._admin = create_engine(url.set(database="postgres"),
                                    isolation_level="AUTOCOMMIT",
                                    connect_args={"connect_timeout": 5})

    def ping(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(text("SELECT 1"))

    def create_database(self) -> str:
        """A fresh, migrated database; returns its URL."""
        name = f"course_test_{secrets.token_hex(6)}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        url = self.url.set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        return url

    def drop_all(self) -> None:
        with self._admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


def postgres_server() -> Iterator[PostgresServer]:
    raw = os.environ.get("COURSE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    server = PostgresServer(make_url(raw))
    try:
        server.ping()
    except OperationalError as exc:
        message = f"PostgreSQL at {server.url!r} is unreachable: {exc.orig or exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: the postgres tests must run)", pytrace=False)
        pytest.skip(f"{message}; set COURSE_TEST_POSTGRES_URL to run the postgres tests")
    yield server
    server.drop_all()
