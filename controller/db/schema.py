"""The queue's table. Alembic migrations (controller/migrations) create and evolve it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    Interval,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC on every backend, returned as aware UTC.

    SQLite has no time zones, PostgreSQL's ``timestamp`` neither: storing naive UTC keeps
    comparisons with the database clock identical on both.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        """``time + timedelta`` in SQL binds the timedelta as an interval, not a timestamp."""
        if isinstance(value, timedelta):
            return Interval()
        return self

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

ID = BigInteger().with_variant(Integer(), "sqlite")

jobs = Table(
    "jobs",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("course_uid", String(64), nullable=False),
    Column("namespace", String(253), nullable=False),
    Column("course_name", String(253), nullable=False),
    Column("module", String(64), nullable=False),
    Column("owner", String(63), nullable=False),
    Column("source", Text, nullable=False),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("suspended", Boolean, nullable=False, server_default=text("false")),
    Column("state", String(16), nullable=False, server_default=text("'pending'")),
    Column("attempt", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False, server_default=text("3")),
    Column("timeout_seconds", Integer, nullable=True),
    Column("not_before", UTCDateTime, nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("claimed_by", String(255), nullable=True),
    Column("pod_name", String(253), nullable=True),
    Column("progress", Integer, nullable=False, server_default=text("0")),
    Column("reason", String(64), nullable=True),
    Column("message", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    UniqueConstraint("course_uid", "module", name="uq_jobs_course_module"),
    # Slot counts and the sweep: the live rows only, never the terminal history.
    Index("ix_jobs_live", "state", "owner",
          postgresql_where=text("state IN ('pending', 'claimed', 'running')"),
          sqlite_where=text("state IN ('pending', 'claimed', 'running')")),
)

# Each owner's queue in claim order (revision 0003): the claim's per-owner pass.
Index("ix_jobs_owner_queue", jobs.c.owner, jobs.c.priority.desc(), jobs.c.created_at, jobs.c.id,
      postgresql_where=text("state = 'pending'"), sqlite_where=text("state = 'pending'"))

# Claim pass (revision 0002): the pending rows in claim order (priority, then age), so that a
# claim ranks only a prefix of the backlog and its cost follows the free slots, not the table.
Index("ix_jobs_claim", jobs.c.priority.desc(), jobs.c.created_at, jobs.c.id,
      postgresql_where=text("state = 'pending'"), sqlite_where=text("state = 'pending'"))
