"""The pending rows in claim order, for a claim whose cost does not grow with the backlog.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PENDING = "state = 'pending'"


def upgrade() -> None:
    op.create_index("ix_jobs_claim", "jobs", [sa.text("priority DESC"), "created_at", "id"],
                    postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))


def downgrade() -> None:
    op.drop_index("ix_jobs_claim", table_name="jobs")
