"""Course reconcile and finalize: the queue side of a Course event.

Status is not written here: the sweep, woken right after, projects it (one writer, one
patch per Course per pass). A reconcile that missed its event is repaired by the sweep too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller import logs
from controller.db import CourseDefaults, Queue
from controller.kube import Kube
from controller.model import InvalidCourse, Job, parse_course

log = logs.get("reconcile")


@dataclass(frozen=True)
class Outcome:
    inserted: int = 0
    cancelled: int = 0
    invalid: str | None = None


class Reconciler:
    def __init__(self, queue: Queue, kube: Kube, defaults: CourseDefaults) -> None:
        self.queue = queue
        self.kube = kube
        self.defaults = defaults

    def reconcile(self, body: dict[str, Any]) -> Outcome:
        """Enqueue every module of the Course at once; cancel the ones that left its spec."""
        course = parse_course(body)
        name = f"{course.ref.namespace}/{course.ref.name}"
        if isinstance(course, InvalidCourse):
            log.warning("invalid course", extra=logs.kv(course=name, reason=course.message))
            return Outcome(invalid=course.message)
        if course.deleting:
            return Outcome()
        sync = self.queue.sync_course(course, self.defaults)
        self._delete_pods(sync.cancelled)
        if sync.inserted:
            self.kube.post_event(course.ref.namespace, course.ref.name, course.ref.uid,
                                 "Normal", "ModulesQueued",
                                 f"queued {sync.inserted} of {len(course.spec.modules)} modules")
        if sync.inserted or sync.cancelled:
            log.info(
                "course reconciled",
                extra=logs.kv(course=name, enqueued=sync.inserted, cancelled=len(sync.cancelled)),
            )
        return Outcome(inserted=sync.inserted, cancelled=len(sync.cancelled))

    def finalize(self, body: dict[str, Any]) -> Outcome:
        """A deleted Course: cancel its jobs and delete their pods (GC would too, later)."""
        meta = body.get("metadata") or {}
        cancelled = self.queue.cancel_course(str(meta.get("uid")))
        self._delete_pods(cancelled)
        log.info(
            "course deleted",
            extra=logs.kv(
                course=f"{meta.get('namespace')}/{meta.get('name')}", cancelled=len(cancelled)
            ),
        )
        return Outcome(cancelled=len(cancelled))

    def _delete_pods(self, jobs: list[Job]) -> None:
        for job in jobs:
            if job.pod_name:
                self.kube.delete_pod(job.namespace, job.pod_name)
