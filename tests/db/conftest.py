"""The db tier: every queue test runs on SQLite and on a real PostgreSQL.

PostgreSQL tests get a database of their own (``course_test_<random>``), created through the
``postgres`` maintenance database and dropped at the end, so concurrent runs never collide.
When PostgreSQL is unreachable the postgres parameters are skipped, except in CI (CI=true),
where a missing database must fail the run rather than silently shrink it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from controller.db import Queue
from controller.db.engine import make_engine
from controller.db.migrate import upgrade

from .builders import FakeClock

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """One migrated database shared by the session's tests (emptied before each)."""
    return postgres_server.create_database()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated, empty database of the parametrized backend."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("queue") / "queue.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        empty(engine)
    yield engine
    engine.dispose()


def empty(engine: Engine) -> None:
    """Remove every job (between tests, and between hypothesis examples)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DELETE FROM jobs"))
        else:
            conn.execute(text("TRUNCATE jobs RESTART IDENTITY"))


@pytest.fixture
def queue(engine: Engine) -> Queue:
    """A queue on the database clock."""
    return Queue(engine)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_queue(engine: Engine, clock: FakeClock) -> Queue:
    """A queue whose clock moves only when the test advances ``clock``."""
    return Queue(engine, clock=clock)


@pytest.fixture
def fresh_postgres(postgres_server: PostgresServer) -> Callable[[], str]:
    """Make a database of the test's own (for tests that install triggers or tables)."""
    return postgres_server.create_database
