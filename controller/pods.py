"""What a processing Pod looks like, and what an observed Pod says (pure, no I/O).

Pod names are deterministic in (course, module, attempt): a create repeated after a crash
is a harmless 409, and a job can never get two live pods of the same attempt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.model import Job

GROUP = "learning.dev"
VERSION = "v1alpha1"
PLURAL = "courses"
PROGRESS_ANNOTATION = f"{GROUP}/progress"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "course-controller"
POD_SELECTOR = f"{MANAGED_BY}={MANAGER}"
LABEL_COURSE = f"{GROUP}/course"
LABEL_COURSE_UID = f"{GROUP}/course-uid"
LABEL_MODULE = f"{GROUP}/module"
LABEL_OWNER = f"{GROUP}/owner"
LABEL_ATTEMPT = f"{GROUP}/attempt"
LABEL_JOB = f"{GROUP}/job-id"
MAX_NAME = 63


def pod_name(course: str, module: str, attempt: int) -> str:
    """``<course>-<module>-<attempt>``, shortened with a stable hash when over 63 chars."""
    name = f"{course}-{module}-{attempt}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(f"{course}/{module}".encode()).hexdigest()[:10]
    room = MAX_NAME - len(digest) - len(str(attempt)) - 2
    return f"{course[:room].rstrip('-')}-{digest}-{attempt}"


def label_value(text: str) -> str:
    """A label value (<= 63 chars) that still identifies ``text``."""
    if len(text) <= MAX_NAME:
        return text
    return text[:52].rstrip("-_.") + "-" + hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class PodTemplate:
    """The settings a pod is built from (controller defaults merged with the Course's)."""

    image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    output_root: str
    timeout_seconds: int
    resources: dict[str, Any] | None = None
    service_account: str | None = None


def build_pod(job: Job, template: PodTemplate) -> dict[str, Any]:
    """The Pod manifest for one attempt of one job (``job.attempt`` is the claimed attempt)."""
    assert job.pod_name, "a claimed job always has its pod name"
    output = f"{template.output_root.rstrip('/')}/{job.namespace}/{job.course_name}/{job.module}"
    container: dict[str, Any] = {
        "name": "worker",
        "image": template.image,
        "command": list(template.command),
        "args": ["--source", job.source, "--output", output, *template.args],
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE",
             "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "COURSE_MODULE", "value": job.module},
            {"name": "COURSE_ATTEMPT", "value": str(job.attempt)},
        ],
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "output", "mountPath": template.output_root},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if template.resources:
        container["resources"] = template.resources
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": template.timeout_seconds,
        "terminationGracePeriodSeconds": 10,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "output", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
    }
    if template.service_account:
        spec["serviceAccountName"] = template.service_account
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": job.pod_name,
            "namespace": job.namespace,
            "labels": {
                MANAGED_BY: MANAGER,
                "app.kubernetes.io/name": "course-worker",
                LABEL_COURSE: label_value(job.course_name),
                LABEL_COURSE_UID: job.course_uid,
                LABEL_MODULE: job.module,
                LABEL_OWNER: label_value(job.owner),
                LABEL_ATTEMPT: str(job.attempt),
                LABEL_JOB: str(job.id),
            },
            "annotations": {PROGRESS_ANNOTATION: "0"},
            "ownerReferences": [{
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "Course",
                "name": job.course_name,
                "uid": job.course_uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }],
        },
        "spec": spec,
    }


@dataclass(frozen=True)
class PodView:
    """The facts of an observed Pod that decide its job's fate."""

    name: str
    namespace: str
    key: PodKey | None
    job_id: int | None
    attempt: int | None
    phase: str
    deleting: bool
    created_at: datetime | None
    started_at: datetime | None
    progress: int | None
    waiting_reason: str | None = None
    waiting_message: str | None = None
    exit_code: int | None = None
    terminated_reason: str | None = None
    terminated_message: str | None = None
    status_reason: str | None = None
    status_message: str | None = None

    @property
    def termination(self) -> Termination:
        """What the worker's termination message says (result, or error and retryability)."""
        return parse_result(self.terminated_message)

    @property
    def retryable(self) -> bool:
        """Whether the attempt's failure may go away on another attempt (see Termination)."""
        return self.termination.retryable


PodKey = tuple[str, str, int]
"""(course uid, module, attempt): what a pod is the attempt of.

Pods are matched to jobs by this key, not by the job row's id: if a row is lost and
re-created, the pods of its earlier attempts still count (a Succeeded one is adopted, a
Failed one uses up its attempt) instead of colliding with the deterministic names."""


def job_key(job: Job) -> PodKey:
    return (job.course_uid, job.module, job.attempt)


def pod_key(labels: dict[str, str]) -> PodKey | None:
    try:
        return (labels[LABEL_COURSE_UID], labels[LABEL_MODULE], int(labels[LABEL_ATTEMPT]))
    except (KeyError, ValueError):
        return None


def parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _int_or_none(text: Any) -> int | None:
    try:
        return int(str(text))
    except ValueError:
        return None


def view_pod(pod: dict[str, Any]) -> PodView:
    """Read the decisive facts out of a Pod object (a dict as the API returns it)."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    labels = meta.get("labels") or {}
    progress = (meta.get("annotations") or {}).get(PROGRESS_ANNOTATION)
    container = ((status.get("containerStatuses") or [{}])[0]).get("state") or {}
    waiting = container.get("waiting") or {}
    terminated = container.get("terminated") or {}
    return PodView(
        name=str(meta.get("name")),
        namespace=str(meta.get("namespace")),
        key=pod_key(labels),
        job_id=_int_or_none(labels.get(LABEL_JOB)) if LABEL_JOB in labels else None,
        attempt=_int_or_none(labels.get(LABEL_ATTEMPT)) if LABEL_ATTEMPT in labels else None,
        phase=str(status.get("phase") or "Pending"),
        deleting=bool(meta.get("deletionTimestamp")),
        created_at=parse_time(meta.get("creationTimestamp")),
        started_at=parse_time(status.get("startTime")),
        progress=_int_or_none(progress) if progress is not None else None,
        waiting_reason=waiting.get("reason"),
        waiting_message=waiting.get("message"),
        exit_code=terminated.get("exitCode"),
        terminated_reason=terminated.get("reason"),
        terminated_message=terminated.get("message"),
        status_reason=status.get("reason"),
        status_message=status.get("message"),
    )


@dataclass(frozen=True)
class Termination:
    """A worker's termination message: its result JSON, or its error text and whether a retry
    may help.

    ``retryable`` is False only when the message is the worker's error JSON with
    ``"retryable": false`` (the source itself is bad). A missing, truncated or foreign message
    (a crash before writing it, FallbackToLogsOnError's log tail, another image) keeps the
    safe default: a needless retry costs an attempt, a wrong "never" loses a module.
    """

    result: dict[str, Any] | None = None
    error: str | None = None
    retryable: bool = True


def parse_result(message: str | None) -> Termination:
    """Read a termination message (see Termination for what counts as permanent)."""
    if not message:
        return Termination()
    try:
        data = json.loads(message)
    except ValueError:
        return Termination(error=one_line(message))
    if not isinstance(data, dict):
        return Termination(error=one_line(message))
    if "error" in data:
        return Termination(error=one_line(str(data["error"])),
                           retryable=data.get("retryable") is not False)
    return Termination(result=data)


def one_line(text: str, limit: int = 300) -> str:
    """The last non-empty line of ``text``, truncated: status messages stay readable."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
