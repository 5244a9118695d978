"""The decisions of the controller as pure functions over plain data.

Who may be claimed, what a pod's state means for its job, when to retry, what a Course's
status says: all of it is decided here without I/O, with the clock passed in, so that leases,
backoff and timeouts are tested without sleeping.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from controller.model import CourseSpec, Job, JobState, SlotUsage
from controller.pods import PodView

# Waiting reasons of a container that will not recover by waiting longer.
FATAL_WAITING_REASONS = frozenset({
    "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "ErrImageNeverPull",
})


# ---------------------------------------------------------------- claiming


@dataclass(frozen=True)
class Candidate:
    """A claimable pending job as the claim query returns it."""

    job_id: int
    owner: str
    priority: int
    created_at: datetime
    attempt: int


def plan_claims(
    candidates: Iterable[Candidate],
    usage: SlotUsage,
    global_limit: int,
    limit_for: Callable[[str], int],
) -> list[Candidate]:
    """Choose which candidates to claim now, fair across owners and within both limits.

    A candidate's rank is the slot it would occupy for its owner (slots already held + its
    place in the owner's queue): every owner's k-th slot is handed out before anyone's
    (k+1)-th, so an owner with 500 queued modules never delays one with 2. Ties go to higher
    priority, then to the older job.
    """
    free_global = global_limit - usage.total
    if free_global <= 0:
        return []
    by_owner: dict[str, list[Candidate]] = {}
    for cand in candidates:
        by_owner.setdefault(cand.owner, []).append(cand)
    ranked: list[tuple[int, int, datetime, int, Candidate]] = []
    for owner, owned in by_owner.items():
        held = usage.per_owner.get(owner, 0)
        room = max(0, limit_for(owner) - held)
        owned.sort(key=lambda c: (-c.priority, c.created_at, c.job_id))
        for place, cand in enumerate(owned[:room], start=1):
            ranked.append((held + place, -cand.priority, cand.created_at, cand.job_id, cand))
    ranked.sort(key=lambda item: item[:4])
    return [item[4] for item in ranked[:free_global]]


def spec_drifted(spec: CourseSpec, jobs: Iterable[Job]) -> bool:
    """Whether a Course's rows disagree with its spec on what an edit may still change:
    priority and suspension of live rows, owner and source of queued ones."""
    sources = {module.name: module.source for module in spec.modules}
    for job in jobs:
        if job.state.terminal:
            continue
        if (job.suspended, job.priority) != (spec.suspend, spec.priority):
            return True
        queued = job.state is JobState.PENDING
        if queued and (job.owner, job.source) != (spec.owner, sources.get(job.module)):
            return True
    return False


# ---------------------------------------------------------------- retries


class RetryKind(enum.Enum):
    RETRY = "retry"
    GIVE_UP = "give_up"        # the last attempt failed
    PERMANENT = "permanent"    # the failure cannot go away: give up now, attempts or not


@dataclass(frozen=True)
class RetryDecision:
    kind: RetryKind
    delay: float = 0.0


def backoff_delay(attempt: int, base: float, cap: float, rand: float) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, never zero for base>0.

    ``rand`` in [0, 1) is passed in so the decision stays a pure function.
    """
    ceiling = min(cap, base * float(2 ** max(0, attempt - 1)))
    return ceiling / 2 + rand * ceiling / 2


def decide_retry(
    attempt: int, max_attempts: int, base: float, cap: float,
    rand: Callable[[], float] = random.random, *, retryable: bool = True,
) -> RetryDecision:
    """Retry while attempts are left (attempts are counted at claim time, in the row), unless
    the failure is not ``retryable``: then every further attempt would fail the same way, and
    waiting out their backoffs would only delay the answer the user needs (fix the source)."""
    if not retryable:
        return RetryDecision(RetryKind.PERMANENT)
    if attempt >= max_attempts:
        return RetryDecision(RetryKind.GIVE_UP)
    return RetryDecision(RetryKind.RETRY, backoff_delay(attempt, base, cap, rand()))


NOT_RETRIED = "not retried: another attempt would fail the same way"
"""Appended to the message of a module given up on a permanent failure (status, Event)."""


def failure_message(verdict: Verdict, decision: RetryDecision) -> str:
    """The message a failed attempt leaves on its job, and so in ``status.modules[]``: the
    verdict's own, plus a note when the module was given up without using its attempts."""
    message = verdict.message or verdict.reason or "Error"
    if decision.kind is RetryKind.PERMANENT:
        return f"{message}; {NOT_RETRIED}"
    return message


def failed_event(job: Job, reason: str, message: str, decision: RetryDecision) -> str:
    """The ModuleFailed Event of a job given up; ``message`` from ``failure_message``."""
    if decision.kind is RetryKind.PERMANENT:
        return f"module {job.module} failed on attempt {job.attempt} ({reason}: {message})"
    return f"module {job.module} failed after {job.attempt} attempts ({reason}: {message})"


# ---------------------------------------------------------------- pod fate


class Fate(enum.Enum):
    CREATE_POD = "create_pod"      # claimed, no pod yet: (re)create it, 409 is fine
    ADOPT = "adopt"                # claimed, its pod exists: mark running
    ALIVE = "alive"                # renew the lease, copy progress
    TERMINATING = "terminating"    # being deleted: keeps its slot, blocks a replacement
    SUCCEEDED = "succeeded"
    FAILED = "failed"              # the attempt failed: retry or give up
    CONDEMN = "condemn"            # delete the pod; the slot is kept until it is gone
    WAIT = "wait"                  # no pod, lease still valid: nothing to do yet


@dataclass(frozen=True)
class Verdict:
    fate: Fate
    reason: str | None = None
    message: str | None = None
    progress: int | None = None
    result: dict[str, object] | None = None
    retryable: bool = True  # FAILED only: False when another attempt cannot succeed


@dataclass(frozen=True)
class Timeouts:
    pod_pending: float
    job: float


def judge(job: Job, pod: PodView | None, now: datetime, timeouts: Timeouts,
          missing_before: bool = False) -> Verdict:
    """What the observed pod (or its absence) means for a slot-holding job.

    A job's ``reason`` is cleared at claim time, so on a slot-holding job it marks an attempt
    the controller has condemned (timeout, image never pulled): its pod is being deleted and
    the job keeps its slot until the pod is gone, so a replacement never runs beside it.
    """
    if pod is None:
        return _judge_missing(job, now, missing_before)
    if pod.phase == "Succeeded":
        return Verdict(Fate.SUCCEEDED, progress=100, result=pod.termination.result)
    if pod.phase == "Failed":
        return _condemned(job) or _judge_failed(pod)
    if pod.deleting:
        return Verdict(Fate.TERMINATING, progress=pod.progress)
    if job.state is JobState.CLAIMED:
        return Verdict(Fate.ADOPT, progress=pod.progress)
    if pod.phase == "Pending":
        return _judge_pending(pod, now, timeouts)
    return _judge_running(job, pod, now, timeouts)


def _condemned(job: Job) -> Verdict | None:
    if job.reason:
        return Verdict(Fate.FAILED, job.reason, job.message or job.reason)
    return None


def _judge_missing(job: Job, now: datetime, missing_before: bool) -> Verdict:
    """A running job without its pod. The pod list is read after the job, so one absence
    already means the pod is gone; a second absence in a row (``missing_before``) is taken as
    proof without waiting for the lease, which remains the rule after a controller restart."""
    if job.state is JobState.CLAIMED:
        return Verdict(Fate.CREATE_POD)
    condemned = _condemned(job)
    if condemned is not None:
        return condemned
    if missing_before:
        return Verdict(Fate.FAILED, "PodLost", "the pod disappeared (missing in two sweeps)")
    if job.lease_expires_at is not None and job.lease_expires_at <= now:
        return Verdict(Fate.FAILED, "PodLost", "the pod disappeared and its lease expired")
    return Verdict(Fate.WAIT)


def _judge_failed(pod: PodView) -> Verdict:
    """Why the pod failed. What the cluster says (deadline, eviction, OOM) comes first: such
    an end is never the source's fault, whatever the worker managed to write."""
    termination = pod.termination
    if pod.status_reason == "DeadlineExceeded":
        return Verdict(Fate.FAILED, "Timeout", pod.status_message or "the attempt timed out")
    if pod.status_reason == "Evicted":
        return Verdict(Fate.FAILED, "Evicted", pod.status_message or "the pod was evicted")
    if pod.terminated_reason == "OOMKilled" or pod.exit_code == 137:
        return Verdict(Fate.FAILED, "OOMKilled",
                       "the worker was killed (out of memory, exit code 137)")
    if not termination.retryable:
        return Verdict(Fate.FAILED, "BadSource", termination.error, retryable=False)
    code = pod.exit_code if pod.exit_code is not None else "unknown"
    return Verdict(Fate.FAILED, pod.terminated_reason or "Error",
                   termination.error or pod.status_message
                   or f"the worker exited with code {code}")


def _judge_pending(pod: PodView, now: datetime, timeouts: Timeouts) -> Verdict:
    if pod.waiting_reason in FATAL_WAITING_REASONS:
        return Verdict(Fate.CONDEMN, pod.waiting_reason,
                       pod.waiting_message or pod.waiting_reason)
    created = pod.created_at or now
    if now - created > timedelta(seconds=timeouts.pod_pending):
        return Verdict(Fate.CONDEMN, "PendingTimeout",
                       f"the pod was Pending for more than {timeouts.pod_pending:g}s")
    return Verdict(Fate.ALIVE, progress=pod.progress)


def _judge_running(job: Job, pod: PodView, now: datetime, timeouts: Timeouts) -> Verdict:
    started = pod.started_at or job.started_at
    if started is not None and now - started > timedelta(seconds=timeouts.job):
        return Verdict(Fate.CONDEMN, "Timeout", f"the attempt ran longer than {timeouts.job:g}s")
    return Verdict(Fate.ALIVE, progress=pod.progress)


# ---------------------------------------------------------------- status


MODULE_PHASES = {
    JobState.PENDING: "Queued",
    JobState.CLAIMED: "Running",
    JobState.RUNNING: "Running",
    JobState.SUCCEEDED: "Succeeded",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
}


@dataclass(frozen=True)
class Limits:
    global_limit: int
    limit_for: Callable[[str], int]


def waiting_reason(
    job: Job, usage: SlotUsage, limits: Limits, now: datetime,
) -> tuple[str, str]:
    """Why a pending job is not running yet, as (reason, message)."""
    if job.suspended:
        return "Suspended", "the Course is suspended"
    if job.not_before is not None and job.not_before > now:
        why = f" after {job.reason}: {job.message}" if job.reason else ""
        when = job.not_before.strftime("%H:%M:%SZ")
        return "Backoff", f"attempt {job.attempt + 1}/{job.max_attempts} at {when}{why}"
    held, limit = usage.per_owner.get(job.owner, 0), limits.limit_for(job.owner)
    if held >= limit:
        return "UserLimit", f"{held}/{limit} slots of {job.owner} in use"
    if usage.total >= limits.global_limit:
        return "GlobalLimit", f"{usage.total}/{limits.global_limit} slots in use"
    return "Claimable", "waiting for the next claim pass"


def module_status(
    job: Job | None, name: str, usage: SlotUsage, limits: Limits, now: datetime,
) -> dict[str, object]:
    """One entry of ``status.modules``."""
    if job is None:
        return {"name": name, "phase": "Queued", "attempts": 0, "progress": 0,
                "reason": "Enqueueing", "message": "the job is being created"}
    entry: dict[str, object] = {
        "name": name, "phase": MODULE_PHASES[job.state], "attempts": job.attempt,
        "progress": 100 if job.state is JobState.SUCCEEDED else min(job.progress, 99),
    }
    if job.pod_name and job.state is not JobState.PENDING:
        entry["pod"] = job.pod_name
    if job.state is JobState.PENDING:
        entry["reason"], entry["message"] = waiting_reason(job, usage, limits, now)
    elif job.reason:
        entry["reason"] = job.reason
        if job.message:
            entry["message"] = job.message
    if job.result and job.state is JobState.SUCCEEDED:
        entry["result"] = job.result
    return entry


def course_phase(counts: dict[str, int], total: int, suspended: bool) -> str:
    done = counts["succeeded"] + counts["failed"] + counts["cancelled"]
    if total and done == total:
        return "Failed" if counts["failed"] else "Succeeded"
    if suspended and counts["running"] == 0:
        return "Suspended"
    if counts["running"] or done:
        return "Processing"
    return "Pending"


def project_status(
    module_names: Sequence[str], jobs: dict[str, Job], suspended: bool,
    usage: SlotUsage, limits: Limits, now: datetime,
) -> dict[str, object]:
    """The Course status derived from its jobs (conditions are added by the caller)."""
    modules = [module_status(jobs.get(n), n, usage, limits, now) for n in module_names]
    counts = {"queued": 0, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0}
    key = {"Queued": "queued", "Running": "running", "Succeeded": "succeeded",
           "Failed": "failed", "Cancelled": "cancelled"}
    progress_sum = 0
    for entry in modules:
        counts[key[str(entry["phase"])]] += 1
        # Percent processed successfully: a failed module counts at its last progress, so a
        # Course with failures never shows 100%.
        done = entry["phase"] in ("Succeeded", "Cancelled")
        progress_sum += 100 if done else int(str(entry["progress"]))
    total = len(modules)
    return {
        "phase": course_phase(counts, total, suspended),
        "progress": progress_sum // total if total else 0,
        "total": total,
        **counts,
        "modules": modules,
    }


def set_condition(
    conditions: list[dict[str, object]], type_: str, status: str, reason: str,
    message: str, generation: int, now: datetime,
) -> list[dict[str, object]]:
    """Return conditions with ``type_`` set; lastTransitionTime moves only on a flip."""
    message = message if len(message) <= 1024 else message[:1021] + "..."
    previous = next((c for c in conditions if c.get("type") == type_), None)
    flipped = previous is None or previous.get("status") != status
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    updated = {
        "type": type_, "status": status, "reason": reason, "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": stamp if flipped or previous is None
        else previous.get("lastTransitionTime", stamp),
    }
    others = [c for c in conditions if c.get("type") != type_]
    return [*others, updated]
