"""Builders for queue test objects: a test says only what differs from a sane default."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from controller.db import ClaimLimits, CourseDefaults, Queue
from controller.db.schema import jobs
from controller.decisions import RetryDecision, RetryKind
from controller.model import Course, Job, parse_course

DEFAULTS = CourseDefaults(max_attempts=3, timeout_seconds=600)
LEASE = 60.0
RETRY_SOON = RetryDecision(RetryKind.RETRY, delay=30.0)
GIVE_UP = RetryDecision(RetryKind.GIVE_UP)

_names = itertools.count(1)


def make_course(
    owner: str = "u1",
    modules: int | Sequence[str] = 6,
    name: str | None = None,
    priority: int = 0,
    suspend: bool = False,
    max_attempts: int | None = None,
    namespace: str = "default",
) -> Course:
    """A valid Course (through parse_course, as the controller reads one)."""
    name = name or f"course-{next(_names)}"
    names = [f"m{i + 1}" for i in range(modules)] if isinstance(modules, int) else modules
    spec: dict[str, Any] = {
        "owner": owner, "priority": priority, "suspend": suspend,
        "modules": [{"name": m, "source": f"https://files.example.com/{name}/{m}.mp4"}
                    for m in names],
    }
    if max_attempts is not None:
        spec["processor"] = {"maxAttempts": max_attempts}
    course = parse_course({
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
        "spec": spec,
    })
    assert isinstance(course, Course), course
    return course


def limits(global_limit: int = 10, per_user: int = 3, **overrides: int) -> ClaimLimits:
    return ClaimLimits(global_limit=global_limit, per_user_limit=per_user,
                       overrides=dict(overrides))


@dataclass
class FakeClock:
    """An injectable queue clock that moves only when a test says so."""

    now: datetime = field(default_factory=lambda: datetime(2030, 1, 1, tzinfo=UTC))

    def __call__(self, _conn: Connection) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def all_jobs(queue: Queue) -> list[Job]:
    """Every row, terminal ones included (the queue's reads return live subsets)."""
    with queue.engine.connect() as conn:
        ids = conn.execute(select(jobs.c.id).order_by(jobs.c.id)).scalars().all()
    return [job for job_id in ids if (job := queue.get(job_id)) is not None]
