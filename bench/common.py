"""What every benchmark shares: throw-away databases, bulk rows, statistics, results.

Every benchmark runs on a database of its own (``course_bench_<random>``), created on the
server named by COURSE_BENCH_DATABASE_URL and dropped afterwards, so runs never collide
with each other or with the test suite.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from controller.db import Queue
from controller.db.engine import make_engine
from controller.db.migrate import upgrade

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("COURSE_BENCH_DATABASE_URL", DEFAULT_URL)


@dataclass
class Figure:
    """One reported number: the median of ``samples``, with its target when it has one."""

    bench: str
    name: str
    value: float
    unit: str
    samples: list[float] = field(default_factory=list)
    target: str = ""
    met: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Databases:
    """Creates migrated throw-away databases on the benchmark server; drops them at close."""

    def __init__(self, url: str | None = None) -> None:
        self.url = make_url(url or server_url())
        self.admin = create_engine(self.url.set(database="postgres"),
                                   isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def psycopg_dsn(self, name: str) -> str:
        """libpq form of a database's URL (for psycopg, PgQueuer, Procrastinate, pgbench)."""
        url = self.url.set(drivername="postgresql", database=name)
        return url.render_as_string(hide_password=False)

    def sqlalchemy_url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, migrate: bool = True) -> str:
        name = f"course_bench_{secrets.token_hex(5)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        if migrate:
            engine = make_engine(self.sqlalchemy_url(name))
            try:
                upgrade(engine)
            finally:
                engine.dispose()
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.created:
            self.created.remove(name)

    @contextlib.contextmanager
    def queue(self, **engine_args: Any) -> Iterator[Queue]:
        """A Queue on a fresh migrated database, dropped afterwards."""
        name = self.create()
        queue = Queue(make_engine(self.sqlalchemy_url(name), **engine_args))
        try:
            yield queue
        finally:
            queue.close()
            self.drop(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(name)
        self.admin.dispose()


def fill_jobs(engine: Engine, owners: int, modules: int, state: str = "pending",
              owner_offset: int = 0) -> None:
    """``owners`` Courses (one per owner) of ``modules`` jobs each, in one INSERT ... SELECT.

    Rows look like what sync_course writes: one created_at per Course, Courses one
    millisecond apart, ids in Course order. Terminal states get a finished_at.
    """
    finished = "now()" if state in ("succeeded", "failed", "cancelled") else "NULL"
    sql = f"""
        INSERT INTO jobs (course_uid, namespace, course_name, module, owner, source, priority,
                          suspended, state, attempt, progress, max_attempts, timeout_seconds,
                          created_at, updated_at, finished_at)
        SELECT 'uid-' || o, 'default', 'course-' || o, 'lesson-' || m, 'user-' || o,
               'file:///tmp/course-samples/lesson-1.mp4', 0, false, :state,
               {1 if finished != "NULL" else 0}, 0, 3, 3600,
               timezone('UTC', now()) - interval '1 day' + o * interval '1 millisecond',
               timezone('UTC', now()), {finished}
        FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS o,
             generate_series(1, CAST(:modules AS integer)) AS m
        ORDER BY o, m
    """
    chunk = 100_000  # owners per statement, so each stays well within a statement timeout
    for lo in range(owner_offset, owner_offset + owners, chunk):
        hi = min(lo + chunk, owner_offset + owners) - 1
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            conn.execute(text(sql), {"state": state, "lo": lo, "hi": hi, "modules": modules})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SET statement_timeout = 0"))
        conn.execute(text("VACUUM ANALYZE jobs"))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value
