"""An in-memory stand-in for ``controller.kube.Kube`` that counts every write.

The in-process benchmarks (enqueue, sweep cost) measure the queue and the sweep, not an API
server; the writes they would make are counted per kind and per Course instead.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any


class FakeKube:
    def __init__(self) -> None:
        self.courses: dict[str, dict[str, Any]] = {}
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: Counter[str] = Counter()
        self.patches_per_course: Counter[str] = Counter()
        self._lock = threading.Lock()

    def reset_counts(self) -> None:
        self.writes.clear()
        self.patches_per_course.clear()

    def list_courses(self, namespaces: Sequence[str] | None) -> list[dict[str, Any]]:
        return list(self.courses.values())

    def list_pods(self, namespaces: Sequence[str] | None) -> list[dict[str, Any]]:
        return list(self.pods.values())

    def create_pod(self, manifest: dict[str, Any]) -> bool:
        meta = manifest["metadata"]
        key = (meta.get("namespace", "default"), meta["name"])
        with self._lock:
            self.writes["create_pod"] += 1
            if key in self.pods:
                return False
            self.pods[key] = {**manifest, "status": {"phase": "Pending"}}
        return True

    def delete_pod(self, namespace: str, name: str, grace_seconds: int | None = None) -> None:
        with self._lock:
            self.writes["delete_pod"] += 1
            self.pods.pop((namespace, name), None)

    def post_event(self, namespace: str, course: str, course_uid: str, type_: str,
                   reason: str, message: str) -> None:
        with self._lock:
            self.writes["event"] += 1

    def patch_course_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        with self._lock:
            self.writes["status_patch"] += 1
            self.patches_per_course[f"{namespace}/{name}"] += 1
            for body in self.courses.values():
                meta = body["metadata"]
                if meta["namespace"] == namespace and meta["name"] == name:
                    body["status"] = status


def course_body(index: int, modules: int, owner: str | None = None) -> dict[str, Any]:
    """A Course as the API returns it; names and uids match ``common.fill_jobs`` rows."""
    return {
        "apiVersion": "learning.dev/v1", "kind": "Course",
        "metadata": {"name": f"course-{index}", "namespace": "default", "uid": f"uid-{index}",
                     "generation": 1},
        "spec": {"owner": owner or f"user-{index}", "modules": [
            {"name": f"lesson-{m}", "source": "file:///tmp/course-samples/lesson-1.mp4"}
            for m in range(1, modules + 1)]},
        "status": {},
    }
