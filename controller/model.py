"""Plain data shared by the parts: job states, the job row as read, the Course spec.

Nothing here does I/O; the queue returns these objects and the decisions consume them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MODULE_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
OWNER_PATTERN = r"^[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?$"


class JobState(enum.StrEnum):
    """States of a queue row (DESIGN section 3)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def holds_slot(self) -> bool:
        return self in SLOT_STATES

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


SLOT_STATES = frozenset({JobState.CLAIMED, JobState.RUNNING})
TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
LIVE_STATES = frozenset(JobState) - TERMINAL_STATES


@dataclass(frozen=True)
class Job:
    """One queue row as read from the database (a snapshot, possibly stale)."""

    id: int
    course_uid: str
    namespace: str
    course_name: str
    module: str
    owner: str
    source: str
    state: JobState
    attempt: int
    max_attempts: int
    priority: int = 0
    suspended: bool = False
    pod_name: str | None = None
    progress: int = 0
    reason: str | None = None
    message: str | None = None
    result: dict[str, Any] | None = None
    not_before: datetime | None = None
    lease_expires_at: datetime | None = None
    created_at: datetime | None = None
    claimed_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ModuleSpec(BaseModel):
    """One module of a Course: a name (part of pod names) and its uploaded source."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1, max_length=40, pattern=MODULE_NAME_PATTERN)
    source: str = Field(min_length=1, max_length=2048, pattern=r"^(file|https?)://.+")


class ProcessorSpec(BaseModel):
    """Per-Course overrides of the worker defaults."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    image: str | None = Field(default=None, min_length=1, max_length=512)
    args: tuple[str, ...] = ()
    resources: dict[str, dict[str, int | str]] | None = None
    timeout_seconds: int | None = Field(default=None, ge=1, le=86_400, alias="timeoutSeconds")
    max_attempts: int | None = Field(default=None, ge=1, le=20, alias="maxAttempts")


class CourseSpec(BaseModel):
    """The spec of a Course, re-validated by the controller.

    The CRD schema rejects bad input at apply time; this second check protects the controller
    from a CRD that was edited or an object written before the schema tightened.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    owner: str = Field(min_length=1, max_length=63, pattern=OWNER_PATTERN)
    priority: int = Field(default=0, ge=-1000, le=1000)
    suspend: bool = False
    processor: ProcessorSpec = ProcessorSpec()
    modules: tuple[ModuleSpec, ...] = Field(min_length=1, max_length=1000)

    @field_validator("modules")
    @classmethod
    def _unique_names(cls, modules: tuple[ModuleSpec, ...]) -> tuple[ModuleSpec, ...]:
        seen: set[str] = set()
        for module in modules:
            if module.name in seen:
                raise ValueError(f"duplicate module name {module.name!r}")
            seen.add(module.name)
        return modules


@dataclass(frozen=True)
class CourseRef:
    """What the queue needs to know about a Course object, besides its spec."""

    uid: str
    namespace: str
    name: str
    generation: int = 1


@dataclass(frozen=True)
class Course:
    """A Course as the controller sees it: its identity and a valid spec."""

    ref: CourseRef
    spec: CourseSpec
    deleting: bool = False


@dataclass(frozen=True)
class InvalidCourse:
    """A Course whose spec failed validation; ``message`` names the field."""

    ref: CourseRef
    message: str


@dataclass
class SlotUsage:
    """Slot-holding jobs per owner and in total, as seen in one transaction."""

    per_owner: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.per_owner.values())


def parse_course(body: dict[str, Any]) -> Course | InvalidCourse:
    """Turn a Course object (a dict from the API) into a Course or an InvalidCourse."""
    meta = body.get("metadata") or {}
    ref = CourseRef(
        uid=str(meta.get("uid", "")),
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        generation=int(meta.get("generation") or 1),
    )
    try:
        spec = CourseSpec.model_validate(body.get("spec") or {})
    except ValidationError as exc:
        return InvalidCourse(ref=ref, message=describe_spec_error(exc))
    return Course(ref=ref, spec=spec, deleting=bool(meta.get("deletionTimestamp")))


def describe_spec_error(exc: ValidationError) -> str:
    """Name each wrong field the way kubectl users read paths: spec.modules[2].name."""
    errors = exc.errors()
    deeper = {tuple(e["loc"][:-1]) for e in errors if len(e["loc"]) > 1}
    parts = []
    for error in errors:
        if error["type"] == "too_short" and tuple(error["loc"]) in deeper:
            continue  # a list that is short only because its invalid items were dropped
        path = "spec"
        for item in error["loc"]:
            path += f"[{item}]" if isinstance(item, int) else f".{item}"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{path}: {message}")
    return "; ".join(parts)
