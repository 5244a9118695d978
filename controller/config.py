"""Controller settings: one typed object, read from ``COURSE_*`` variables and CLI flags.

Every setting is documented where it is declared (this file is the reference; the Helm
values and the README point here). Invalid configuration stops start-up with a message that
names the environment variable, never a traceback.
"""

from __future__ import annotations

import os
import socket
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "COURSE_"


class ConfigError(Exception):
    """Configuration that cannot work; the message names the offending setting."""


def _default_controller_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    """All knobs of the controller. Field names map to ``COURSE_<NAME>`` variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    database_url: str = Field(
        default="sqlite:///course-controller.db",
        description="SQLAlchemy URL of the queue. SQLite (the embedded default) suits one "
        "controller; use postgresql+psycopg://... for production and several replicas.",
    )
    global_limit: int = Field(
        default=100, ge=1, le=100_000,
        description="Most jobs holding a slot (claimed or running) at once, over all owners.",
    )
    per_user_limit: int = Field(
        default=3, ge=1, le=10_000,
        description="Most slot-holding jobs of one owner at once, unless overridden.",
    )
    per_user_limits: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description="Per-owner overrides of per_user_limit, as 'owner=N,owner2=M' or JSON.",
    )
    sweep_interval: float = Field(
        default=5.0, gt=0, le=3600,
        description="Seconds between level-triggered sweeps (pod events also wake the sweep).",
    )
    lease_seconds: float = Field(
        default=60.0, gt=0, le=86_400,
        description="A slot-holding job's lease; renewed every sweep while its pod is alive. "
        "A job whose lease expired and whose pod is gone is retried. Must be at least 3x "
        "sweep_interval so that one slow sweep never expires a healthy job.",
    )
    max_attempts: int = Field(
        default=3, ge=1, le=20,
        description="Attempts per module before it is Failed (a Course may override it).",
    )
    backoff_base: float = Field(
        default=5.0, ge=0, le=3600,
        description="Seconds before the first retry; doubles per attempt, with full jitter.",
    )
    backoff_max: float = Field(
        default=300.0, ge=0, le=86_400, description="Upper bound of one retry delay.",
    )
    pod_pending_timeout: float = Field(
        default=300.0, gt=0, le=86_400,
        description="A pod Pending longer than this (unschedulable, image never pulled) "
        "fails its attempt.",
    )
    job_timeout: int = Field(
        default=3600, ge=1, le=86_400,
        description="Seconds one attempt may run (the pod's activeDeadlineSeconds as well).",
    )
    worker_image: str = Field(
        default="ghcr.io/learning-dev/course-controller:0.1.0", min_length=1,
        description="Container image of the processing worker (a Course may override it).",
    )
    worker_command: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["course-worker"],
        description="Command of the worker container, comma-separated in the environment.",
    )
    worker_service_account: str | None = Field(
        default=None, min_length=1, max_length=253,
        description="ServiceAccount of worker pods (it needs patch on pods, for progress). "
        "Unset: the namespace's default account, and progress reports may be refused.",
    )
    worker_resources: dict[str, dict[str, int | str]] | None = Field(
        default=None,
        description='Worker pod resources as JSON, e.g. {"limits": {"memory": "1Gi"}}; '
        "a Course's processor.resources overrides it.",
    )
    output_root: str = Field(
        default="/data/output", min_length=1,
        description="Directory the worker writes renditions under (<root>/<ns>/<course>/<module>).",
    )
    namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["default"],
        description="Namespaces whose Courses are watched (comma-separated). "
        "Ignored when all_namespaces is true.",
    )
    all_namespaces: bool = Field(
        default=False, description="Watch Courses in every namespace (cluster-wide).",
    )
    metrics_port: int = Field(
        default=8080, ge=0, le=65535, description="Port of /metrics; 0 disables it.",
    )
    health_port: int = Field(
        default=8081, ge=0, le=65535,
        description="Port of the liveness endpoint /healthz; 0 disables it.",
    )
    statement_timeout_ms: int = Field(
        default=10_000, ge=100, le=600_000,
        description="Database statement and lock timeout, so a held lock never hangs a sweep.",
    )
    controller_id: str = Field(
        default_factory=_default_controller_id,
        description="Identity written on claimed jobs (who claimed it), for debugging.",
    )
    log_format: str = Field(
        default="text", pattern="^(text|json)$", description="Log lines as key=value text or JSON.",
    )

    @field_validator("per_user_limits", mode="before")
    @classmethod
    def _parse_limits(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_owner_limits(value)
        return value

    @field_validator("per_user_limits")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        bad = [owner for owner, limit in value.items() if not 1 <= limit <= 10_000]
        if bad:
            raise ValueError(
                f"limits must be between 1 and 10000 (owners: {', '.join(sorted(bad))})")
        return value

    @field_validator("worker_resources", mode="before")
    @classmethod
    def _parse_resources(cls, value: Any) -> Any:
        if isinstance(value, str):
            import json

            try:
                return json.loads(value) if value.strip() else None
            except ValueError as exc:
                raise ValueError(f"expected a JSON object, got {value!r}: {exc}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or "
                             "postgresql+psycopg://")
        return value

    @field_validator("namespaces", "worker_command", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.lease_seconds < 3 * self.sweep_interval:
            raise ValueError(
                f"{ENV_PREFIX}LEASE_SECONDS ({self.lease_seconds:g}) must be at least 3x "
                f"{ENV_PREFIX}SWEEP_INTERVAL ({self.sweep_interval:g}): leases are renewed "
                "once per sweep"
            )
        if not self.all_namespaces and not self.namespaces:
            raise ValueError(
                f"{ENV_PREFIX}NAMESPACES is empty: name at least one or set "
                f"{ENV_PREFIX}ALL_NAMESPACES"
            )
        if not self.worker_command:
            raise ValueError(f"{ENV_PREFIX}WORKER_COMMAND is empty")
        return self

    def limit_for(self, owner: str) -> int:
        """The per-user limit that applies to ``owner``."""
        return self.per_user_limits.get(owner, self.per_user_limit)


def parse_owner_limits(text: str) -> dict[str, int]:
    """Parse ``"alice=5,bob=1"`` (or a JSON object) into a dict of owner limits."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        import json

        parsed = json.loads(text)
        return {str(key): int(val) for key, val in parsed.items()}
    limits: dict[str, int] = {}
    for item in text.split(","):
        owner, sep, number = item.partition("=")
        if not sep or not owner.strip() or not number.strip().isdigit():
            raise ValueError(f"expected owner=N, got {item.strip()!r}")
        limits[owner.strip()] = int(number)
    return limits


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit overrides (CLI flags win).

    Raises ConfigError whose message names each offending ``COURSE_*`` setting.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from exc


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's report into lines that name the environment variable."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{ENV_PREFIX}{field.upper()}: {message}" if field else message)
    return "invalid configuration: " + "; ".join(lines)
