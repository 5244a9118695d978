"""Alembic environment: runs migrations on the connection ``controller.db.migrate`` passes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from controller.db.schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations(context.config.attributes["connection"])
