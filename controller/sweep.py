"""The level-triggered sweep: compare what should exist with what does, repair the difference.

``Sweeper.run_once`` is one pass (DESIGN section 4) and returns a small result of counts;
``Sweeper.loop`` runs it every ``sweep_interval`` and whenever something wakes it (a pod that
finished, a Course that changed). Nothing here waits for an event to be remembered: a missed
event only delays work until the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controller import logs, metrics
from controller.config import Settings
from controller.db import ClaimLimits, CourseDefaults, Queue
from controller.decisions import (
    Fate,
    Limits,
    RetryKind,
    Timeouts,
    Verdict,
    decide_retry,
    failed_event,
    failure_message,
    judge,
    project_status,
    set_condition,
    spec_drifted,
)
from controller.errors import PermanentError
from controller.kube import Kube
from controller.model import (
    LIVE_STATES,
    Course,
    InvalidCourse,
    Job,
    JobState,
    SlotUsage,
    parse_course,
)
from controller.pods import PodKey, PodTemplate, PodView, build_pod, job_key, view_pod

log = logs.get("sweep")

COURSE_CHUNK = 200
"""Courses whose jobs a sweep reads in one go (see ``Sweeper._with_jobs``)."""


@dataclass
class SweepResult:
    """Counts of what one pass did (logged, and asserted on in tests)."""

    claimed: int = 0
    started: int = 0
    succeeded: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    status_patches: int = 0
    repairs: Counter[str] = field(default_factory=Counter)


@dataclass
class Snapshot:
    """What one pass read: jobs first, then Courses, then pods (the order matters)."""

    live_jobs: list[Job]
    courses: dict[str, Course]
    invalid: dict[str, InvalidCourse]
    bodies: dict[str, dict[str, Any]]  # of each Course: its name and status, nothing more
    pods: dict[PodKey, PodView]
    now: datetime


def _addressed_status(body: dict[str, Any]) -> dict[str, Any]:
    """What status projection needs of a Course object: where to patch, what it says now."""
    meta = body.get("metadata") or {}
    return {"metadata": {"namespace": meta.get("namespace"), "name": meta.get("name")},
            "status": body.get("status")}


def _chunks(courses: dict[str, Course], size: int) -> Iterator[dict[str, Course]]:
    items = iter(courses.items())
    while chunk := dict(itertools.islice(items, size)):
        yield chunk


class Sweeper:
    """One pass at a time; ``wake`` asks for the next pass now instead of at the interval."""

    def __init__(
        self,
        queue: Queue,
        kube: Kube,
        settings: Settings,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.queue = queue
        self.kube = kube
        self.settings = settings
        self.rand = rand
        self.limits = ClaimLimits(
            settings.global_limit, settings.per_user_limit, dict(settings.per_user_limits)
        )
        self.defaults = CourseDefaults(settings.max_attempts, settings.job_timeout)
        self.timeouts = Timeouts(settings.pod_pending_timeout, settings.job_timeout)
        self.namespaces = None if settings.all_namespaces else list(settings.namespaces)
        self.last_success: float | None = None
        # Running jobs whose pod was missing in the last pass: a second miss is a lost pod.
        # Only an accelerator: after a restart the lease decides, as it always may.
        self._missing_last_pass: set[PodKey] = set()
        self._missing_now: set[PodKey] = set()
        self._renewals: list[tuple[Job, int | None]] = []  # collected, written once per pass
        self._wake: asyncio.Event | None = None
        metrics.GLOBAL_LIMIT.set(settings.global_limit)

    # ------------------------------------------------------------ loop

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def loop(self) -> None:
        """Sweep forever: on time, or sooner when woken. A failed pass never stops the loop."""
        self._wake = asyncio.Event()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.sweep_interval)
            self._wake.clear()
            await asyncio.to_thread(self.run_guarded)

    def run_guarded(self) -> SweepResult | None:
        started = time.monotonic()
        try:
            result = self.run_once()
        except Exception:
            metrics.SWEEP_ERRORS.inc()
            log.exception("sweep failed")
            return None
        finally:
            metrics.SWEEP_DURATION.observe(time.monotonic() - started)
        self.last_success = time.time()
        metrics.LAST_SWEEP.set(self.last_success)
        return result

    # ------------------------------------------------------------ one pass

    def run_once(self) -> SweepResult:
        result = SweepResult()
        self._missing_now = set()
        self._renewals = []
        snap = self._read()
        self._enqueue_missing(snap, result)
        cancelled_ids = self._cancel_orphans(snap, result)
        for job in snap.live_jobs:
            if job.state in (JobState.CLAIMED, JobState.RUNNING) and job.id not in cancelled_ids:
                self._settle(job, snap, result)
        self.queue.renew_many(self._renewals, self.settings.lease_seconds)
        self._missing_last_pass = self._missing_now
        self._claim(snap, result)
        self._project(snap, result)
        if any(
            (
                result.claimed,
                result.succeeded,
                result.retried,
                result.failed,
                result.cancelled,
                result.repairs,
            )
        ):
            log.info(
                "sweep",
                extra=logs.kv(
                    claimed=result.claimed,
                    succeeded=result.succeeded,
                    retried=result.retried,
                    failed=result.failed,
                    cancelled=result.cancelled,
                    patches=result.status_patches,
                    repairs=dict(result.repairs),
                ),
            )
        return result

    def _read(self) -> Snapshot:
        live_jobs = self.queue.live_jobs()
        courses: dict[str, Course] = {}
        invalid: dict[str, InvalidCourse] = {}
        bodies: dict[str, dict[str, Any]] = {}
        for body in self.kube.list_courses(self.namespaces):
            parsed = parse_course(body)
            bodies[parsed.ref.uid] = _addressed_status(body)
            if isinstance(parsed, InvalidCourse):
                invalid[parsed.ref.uid] = parsed
            elif not parsed.deleting:
                courses[parsed.ref.uid] = parsed
        pods: dict[PodKey, PodView] = {}
        for pod in self.kube.list_pods(self.namespaces):
            view = view_pod(pod)
            if view.key is not None:
                pods[view.key] = view
        return Snapshot(live_jobs, courses, invalid, bodies, pods, self.queue.now())

    def _with_jobs(self, courses: dict[str, Course]) -> Iterator[tuple[str, Course, list[Job]]]:
        """Each Course with its jobs, read for a chunk of Courses at a time: a sweep holds
        one chunk's jobs, not every job of every Course (6,000 rows for 1,000 Courses)."""
        for chunk in _chunks(courses, COURSE_CHUNK):
            known = self.queue.jobs_of_courses(chunk)
            for uid, course in chunk.items():
                yield uid, course, known.get(uid, [])

    def _watched(self, namespace: str) -> bool:
        return self.namespaces is None or namespace in self.namespaces

    # ------------------------------------------------------------ repairs

    def _enqueue_missing(self, snap: Snapshot, result: SweepResult) -> None:
        """Modules of a live Course without a job: the original bug, repaired at runtime."""
        missing_total = 0
        for _uid, course, jobs in self._with_jobs(snap.courses):
            have = {job.module for job in jobs}
            missing = [m.name for m in course.spec.modules if m.name not in have]
            drifted = spec_drifted(course.spec, jobs)
            if not missing and not drifted:
                continue
            missing_total += len(missing)
            sync = self.queue.sync_course(course, self.defaults)
            if sync.inserted:
                result.repairs["missing_job"] += sync.inserted
                metrics.REPAIRS.labels(kind="missing_job").inc(sync.inserted)
                log.warning(
                    "repaired modules without a job",
                    extra=logs.kv(
                        course=f"{course.ref.namespace}/{course.ref.name}",
                        modules=",".join(missing),
                    ),
                )
                self.kube.post_event(course.ref.namespace, course.ref.name, course.ref.uid,
                                     "Warning", "Repaired",
                                     f"re-created the missing jobs of {', '.join(missing)}")
        metrics.MODULES_WITHOUT_JOB.set(missing_total)

    def _cancel_orphans(self, snap: Snapshot, result: SweepResult) -> set[int]:
        """Jobs whose Course is gone (or deleting), or whose module left the spec."""
        cancelled: set[int] = set()
        orphan_courses = {
            job.course_uid
            for job in snap.live_jobs
            if self._watched(job.namespace)
            and job.course_uid not in snap.courses
            and job.course_uid not in snap.invalid
        }
        for uid in orphan_courses:
            for job in self.queue.cancel_course(uid):
                cancelled.add(job.id)
                self._delete_pod_of(job, snap)
                result.cancelled += 1
                result.repairs["orphan_job"] += 1
                metrics.REPAIRS.labels(kind="orphan_job").inc()
                metrics.COMPLETIONS.labels(result="cancelled").inc()
                log.info("cancelled job of a deleted Course", extra=logs.job_kv(job))
        shrunk = {job.course_uid for job in snap.live_jobs
                  if (course := snap.courses.get(job.course_uid)) is not None
                  and job.module not in {m.name for m in course.spec.modules}}
        for uid in shrunk:
            for gone in self.queue.sync_course(snap.courses[uid], self.defaults).cancelled:
                cancelled.add(gone.id)
                self._delete_pod_of(gone, snap)
                result.cancelled += 1
                metrics.COMPLETIONS.labels(result="cancelled").inc()
                log.info("cancelled job of a removed module", extra=logs.job_kv(gone))
        return cancelled

    def _delete_pod_of(self, job: Job, snap: Snapshot) -> None:
        pod = snap.pods.get(job_key(job))
        if pod is not None and not pod.deleting and pod.phase not in ("Succeeded", "Failed"):
            self.kube.delete_pod(pod.namespace, pod.name)

    # ------------------------------------------------------------ jobs vs pods

    def _settle(self, job: Job, snap: Snapshot, result: SweepResult) -> None:
        """Apply what the pod (or its absence) says about one slot-holding job."""
        pod = snap.pods.get(job_key(job))
        key = job_key(job)
        verdict = judge(job, pod, snap.now, self.timeouts, key in self._missing_last_pass)
        if pod is None and job.state is JobState.RUNNING:
            self._missing_now.add(key)
        lease = self.settings.lease_seconds
        if verdict.fate is Fate.CREATE_POD:
            if self._start_pod(job, snap, result):
                result.repairs["pod_recreated"] += 1
                metrics.REPAIRS.labels(kind="claimed_without_pod").inc()
        elif verdict.fate is Fate.ADOPT:
            self.queue.mark_running(job, lease, verdict.progress)
        elif verdict.fate in (Fate.ALIVE, Fate.TERMINATING):
            self._renewals.append((job, verdict.progress))
        elif verdict.fate is Fate.SUCCEEDED:
            if self.queue.succeed(job, verdict.result):
                result.succeeded += 1
                metrics.COMPLETIONS.labels(result="succeeded").inc()
                self._observe_run(job, snap.now)
                log.info("module succeeded", extra=logs.job_kv(job))
                self._event(job, "Normal", "ModuleSucceeded",
                            f"module {job.module} succeeded (attempt {job.attempt})")
        elif verdict.fate is Fate.FAILED:
            self._fail(job, pod, verdict, result, snap.now)
        elif verdict.fate is Fate.CONDEMN:
            self._condemn(job, pod, verdict)

    def _condemn(self, job: Job, pod: PodView | None, verdict: Verdict) -> None:
        """End an attempt whose pod will not finish: note why, then delete the pod. The slot
        stays held until the pod is gone, so no replacement runs beside a dying pod."""
        reason = verdict.reason or "Error"
        if not self.queue.condemn(job, reason, verdict.message or reason):
            return
        log.warning("ending attempt", extra=logs.job_kv(job, reason=reason,
                                                          message=verdict.message))
        if pod is not None and not pod.deleting:
            self.kube.delete_pod(pod.namespace, pod.name)

    def _fail(
        self, job: Job, pod: PodView | None, verdict: Verdict, result: SweepResult, now: datetime
    ) -> None:
        reason = verdict.reason or "Error"
        decision = decide_retry(
            job.attempt,
            job.max_attempts,
            self.settings.backoff_base,
            self.settings.backoff_max,
            self.rand,
            retryable=verdict.retryable,
        )
        message = failure_message(verdict, decision)
        state = self.queue.fail_attempt(job, reason, message, decision)
        if state is None:
            return  # someone else settled it first
        if reason == "PodLost":
            metrics.REPAIRS.labels(kind="lost_pod").inc()
            result.repairs["lost_pod"] += 1
        self._observe_run(job, now)
        fields = {"reason": reason, "message": message}
        if decision.kind is RetryKind.RETRY:
            result.retried += 1
            metrics.RETRIES.labels(reason=reason).inc()
            self._event(job, "Warning", "ModuleRetrying",
                        f"module {job.module} attempt {job.attempt}/{job.max_attempts} failed "
                        f"({reason}: {verdict.message}); retrying in {decision.delay:.0f}s")
            log.warning(
                "attempt failed, will retry",
                extra=logs.job_kv(job, **fields, delay=round(decision.delay, 1)),
            )
        else:
            result.failed += 1
            metrics.COMPLETIONS.labels(result="failed").inc()
            log.warning("module failed", extra=logs.job_kv(job, **fields))
            self._event(job, "Warning", "ModuleFailed",
                        failed_event(job, reason, message, decision))

    def _event(self, job: Job, type_: str, reason: str, message: str) -> None:
        self.kube.post_event(job.namespace, job.course_name, job.course_uid, type_, reason,
                             message)

    def _observe_run(self, job: Job, now: datetime) -> None:
        if job.started_at is not None:
            metrics.RUN_DURATION.observe(max(0.0, (now - job.started_at).total_seconds()))

    # ------------------------------------------------------------ claim + start

    def _claim(self, snap: Snapshot, result: SweepResult) -> None:
        for job in self.queue.claim(
            self.limits, self.settings.lease_seconds, self.settings.controller_id
        ):
            result.claimed += 1
            metrics.CLAIMS.inc()
            if job.created_at is not None:
                metrics.QUEUE_WAIT.observe(max(0.0, (snap.now - job.created_at).total_seconds()))
            log.info("claimed", extra=logs.job_kv(job))
            self._start_pod(job, snap, result)

    def _start_pod(self, job: Job, snap: Snapshot, result: SweepResult) -> bool:
        """Create the job's pod (idempotent) and mark the job running."""
        course = snap.courses.get(job.course_uid)
        if course is None:
            return False  # its Course vanished since the read; the next pass cancels it
        try:
            created = self.kube.create_pod(build_pod(job, self._template(course)))
        except PermanentError as exc:
            self._fail(job, None, Verdict(Fate.FAILED, "PodRejected", str(exc)), result, snap.now)
            return False
        self.queue.mark_running(job, self.settings.lease_seconds)
        result.started += 1
        if created:
            self._event(job, "Normal", "ModuleStarted",
                        f"module {job.module} attempt {job.attempt} started in pod {job.pod_name}")
        log.info(
            "pod created" if created else "pod already existed",
            extra=logs.job_kv(job, pod=job.pod_name),
        )
        return True

    def _template(self, course: Course) -> PodTemplate:
        proc = course.spec.processor
        return PodTemplate(
            image=proc.image or self.settings.worker_image,
            command=tuple(self.settings.worker_command),
            args=proc.args,
            output_root=self.settings.output_root,
            timeout_seconds=proc.timeout_seconds or self.settings.job_timeout,
            resources=proc.resources or self.settings.worker_resources,
            service_account=self.settings.worker_service_account,
        )

    # ------------------------------------------------------------ status

    def _project(self, snap: Snapshot, result: SweepResult) -> None:
        """One status patch per Course at most, and only when its status changed."""
        usage = self.queue.slot_usage()
        self._gauges(usage)
        limits = Limits(self.limits.global_limit, self.limits.limit_for)
        for uid, course, jobs in self._with_jobs(snap.courses):
            by_module = {job.module: job for job in jobs}
            status = project_status(
                [m.name for m in course.spec.modules],
                by_module,
                course.spec.suspend,
                usage,
                limits,
                snap.now,
            )
            self._patch_if_changed(
                snap.bodies[uid], course.ref.generation, status, None, snap.now, result
            )
        for uid, bad in snap.invalid.items():
            self._patch_if_changed(
                snap.bodies[uid],
                bad.ref.generation,
                {"phase": "Invalid"},
                bad.message,
                snap.now,
                result,
            )

    def _patch_if_changed(
        self,
        body: dict[str, Any],
        generation: int,
        status: dict[str, Any],
        invalid: str | None,
        now: datetime,
        result: SweepResult,
    ) -> None:
        current = dict(body.get("status") or {})
        conditions = list(current.get("conditions") or [])
        if invalid is None:
            conditions = set_condition(
                conditions, "Valid", "True", "SpecValid", "the spec is valid", generation, now
            )
            done = status["phase"] in ("Succeeded",)
            conditions = set_condition(
                conditions,
                "Ready",
                "True" if done else "False",
                str(status["phase"]),
                f"{status['succeeded']}/{status['total']} modules succeeded, "
                f"{status['failed']} failed",
                generation,
                now,
            )
        else:
            conditions = set_condition(
                conditions, "Valid", "False", "InvalidSpec", invalid, generation, now
            )
            conditions = set_condition(
                conditions,
                "Ready",
                "False",
                "InvalidSpec",
                "the spec is invalid; fix it and apply again",
                generation,
                now,
            )
        wanted = {**status, "observedGeneration": generation, "conditions": conditions}
        if all(current.get(key) == value for key, value in wanted.items()):
            return
        meta = body["metadata"]
        self.kube.patch_course_status(meta["namespace"], meta["name"], wanted)
        result.status_patches += 1
        metrics.STATUS_PATCHES.inc()

    def _gauges(self, usage: SlotUsage) -> None:
        counts = self.queue.live_counts()
        for state in LIVE_STATES:
            metrics.JOBS.labels(state=state.value).set(counts.get(state, 0))
        metrics.SLOTS_IN_USE.set(usage.total)
        metrics.OWNERS_AT_LIMIT.set(
            sum(
                1 for owner, held in usage.per_owner.items() if held >= self.limits.limit_for(owner)
            )
        )
        waits = [age for owner, age in self.queue.oldest_claimable_waits().items()
                 if usage.per_owner.get(owner, 0) < self.limits.limit_for(owner)]
        metrics.OLDEST_CLAIMABLE_AGE.set(max([0.0, *waits]))
