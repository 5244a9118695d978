"""Engines for the two backends, configured for the queue's serialization needs."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, statement_timeout_ms: int = 10_000) -> Engine:
    """An engine whose transactions are safe for claiming on either backend.

    SQLite: every transaction is ``BEGIN IMMEDIATE`` (one writer at a time, so the claim's
    read-count-then-update cannot interleave), WAL so readers are not blocked, and a busy
    timeout instead of instant 'database is locked'. PostgreSQL: statement and lock timeouts
    so a held lock cannot hang a sweep, and pre-ping so a dropped connection is replaced.
    """
    if is_sqlite(url):
        return _sqlite_engine(url, statement_timeout_ms)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={
            "options": f"-c statement_timeout={statement_timeout_ms} "
            f"-c lock_timeout={statement_timeout_ms} -c TimeZone=UTC",
            "connect_timeout": 10,
        },
    )


def _sqlite_engine(url: str, timeout_ms: int) -> Engine:
    engine = create_engine(url, connect_args={"timeout": timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
