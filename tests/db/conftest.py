"""The db tier: every queue test runs on SQLite and on a real PostgreSQL.

PostgreSQL tests get a database of their own (``course_test_<random>``), created through the
``postgres`` maintenance database and dropped at the end, so concurrent runs never collide.
When PostgreSQL is unreachable the postgres parameters are skipped, except in CI (CI=true),
where a missing database must fail the run rather than silently shrink it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text

from controller.db import Queue
from controller.db.engine import make_engine
from controller.db.migrate import upgrade
from tests.pg import PostgresServer

from .builders import FakeClock

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


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
