"""Schema migrations (alembic) and the start-up check that refuses an old schema."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from controller.errors import SchemaOutOfDate

MIGRATE_COMMAND = "course-controller migrate"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "controller:migrations")
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return head_revision()


def check_schema(engine: Engine) -> None:
    """Raise SchemaOutOfDate, naming the fixing command, unless the schema is current."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        shown = current or "empty (no tables)"
        raise SchemaOutOfDate(
            f"database schema is {shown}, this controller needs {head}: "
            f"run `{MIGRATE_COMMAND}` with the same database URL"
        )
