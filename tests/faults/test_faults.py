"""Fault injection: whatever fails, every module ends terminal, once, within the limits.

Each case is setup / fault / expected outcome. The controller runs as a separate process
(tests/faults/faulty_controller.py wraps the real one where a fault must be injected inside
it); the cluster is the sandbox. Cases that need an exact interleaving drive a Sweeper
in-process instead (test_interleavings.py).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client
from sqlalchemy import delete, text

from controller.db import Queue
from controller.db.schema import jobs
from controller.localcluster import LocalCluster
from tests.e2e.harness import (
    CourseBuilder,
    Courses,
    PodCreations,
    PodSampler,
    unreachable_url,
    wait_for,
)

pytestmark = pytest.mark.e2e
FAULTY = [str(Path(__file__).with_name("faulty_controller.py"))]
DONE = ("Succeeded", "Failed")


def faulty(kind: str, module: str) -> dict[str, str]:
    return {"FAULT_INJECTION": json.dumps({"kind": kind, "module": module})}


class Observed:
    """A running cluster with a pod sampler and a pod-creation log, for one test."""

    def __init__(self, cluster: LocalCluster, courses: Courses) -> None:
        self.cluster = cluster
        self.courses = courses
        self.api = courses.custom.api_client
        self.core = client.CoreV1Api(self.api)
        self.sampler = PodSampler(self.api)
        self.creations = PodCreations(self.api)

    def __enter__(self) -> Observed:
        self.sampler.start()
        self.creations.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.sampler.stop()
        self.creations.stop()

    def running_pods(self, course: str) -> list[client.V1Pod]:
        pods = self.core.list_namespaced_pod("default").items
        return [p for p in pods if p.metadata.name.startswith(f"{course}-")
                and p.status.phase == "Running" and not p.metadata.deletion_timestamp]

    def assert_clean(self, owner: str = "user-1", limit: int = 3) -> None:
        assert self.sampler.peak_per_owner[owner] <= limit, self.sampler.peak_per_owner
        assert not self.sampler.doubles, f"modules with two live pods: {self.sampler.doubles}"


def start(tmp_path: Path, courses_for: Callable[[Path], Courses], *, controller: bool = True,
          **settings: str) -> tuple[LocalCluster, Courses]:
    cluster = LocalCluster(tmp_path / "cluster", controller=controller, settings=settings)
    cluster.start()
    return cluster, courses_for(cluster.kubeconfig)


def test_1_completion_handling_raises_after_success(
    tmp_path: Path, courses_for: Callable[[Path], Courses], videos: list[Path],
) -> None:
    cluster, courses = start(tmp_path, courses_for, controller=False)
    try:
        cluster.start_controller(entry=FAULTY, extra_env=faulty("raise_after_succeed",
                                                                  "lesson-1"))
        with Observed(cluster, courses) as seen:
            courses.create(CourseBuilder(name="c1", sources=videos).obj())
            status = courses.wait_phase("c1", DONE, timeout=90)
            seen.assert_clean()
        assert status["phase"] == "Succeeded"
        assert [m["attempts"] for m in status["modules"]] == [1] * 6
        log = cluster.controllers[0].log_path.read_text()
        assert "injected fault after lesson-1 succeeded" in log, "the fault did fire"
    finally:
        cluster.stop()


def test_2_deleted_job_row_is_recreated_and_processed(
    tmp_path: Path, courses_for: Callable[[Path], Courses], videos: list[Path],
) -> None:
    cluster, courses = start(tmp_path, courses_for)
    queue = Queue.from_url(cluster.database_url)
    try:
        courses.create(CourseBuilder(name="c2", sources=videos).obj())
        wait_for(lambda: courses.status("c2").get("running") == 3, 30, "3 running")
        with queue.engine.begin() as conn:
            gone = conn.execute(delete(jobs).where(jobs.c.module == "lesson-6")).rowcount
        assert gone == 1
        wait_for(lambda: [j for j in queue.live_jobs() if j.module == "lesson-6"], 10,
                 "the job of lesson-6 to be re-created")
        status = courses.wait_phase("c2", DONE, timeout=90)
        assert status["phase"] == "Succeeded"
        assert "repaired modules without a job" in cluster.controllers[0].log_path.read_text()
    finally:
        queue.close()
        cluster.stop()


def test_3_sigkill_after_claim_before_pod_creation(
    tmp_path: Path, courses_for: Callable[[Path], Courses], videos: list[Path],
) -> None:
    cluster, courses = start(tmp_path, courses_for, controller=False)
    try:
        first = cluster.start_controller(entry=FAULTY, extra_env=faulty(
            "kill_before_create_pod", "lesson-4"))
        with Observed(cluster, courses) as seen:
            courses.create(CourseBuilder(name="c3", sources=videos).obj())
            wait_for(lambda: not first.alive(), 60, "the injected SIGKILL")
            assert first.proc is not None and first.proc.returncode == -9
            cluster.start_controller()
            status = courses.wait_phase("c3", DONE, timeout=90)
            seen.assert_clean()
        assert status["phase"] == "Succeeded"
        assert seen.creations.of_module("c3", "lesson-4") == ["c3-lesson-4-1"]
        assert {m["name"]: m["attempts"] for m in status["modules"]}["lesson-4"] == 1
    finally:
        cluster.stop()


def test_4_pods_deleted_while_the_controller_is_down(
    tmp_path: Path, courses_for: Callable[[Path], Courses], videos: list[Path],
) -> None:
    cluster, courses = start(tmp_path, courses_for)
    try:
        with Observed(cluster, courses) as seen:
            courses.create(CourseBuilder(name="c4", sources=[*videos[:3], *videos[:3]]).obj())
            wait_for(lambda: len(seen.running_pods("c4")) == 3, 30, "3 running pods")
            cluster.controllers[0].kill()
            victims = [p.metadata.name for p in seen.running_pods("c4")]
            for name in victims:
                seen.core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
            wait_for(lambda: not seen.running_pods("c4"), 10, "the pods to go")
            cluster.start_controller()
            status = courses.wait_phase("c4", DONE, timeout=90)
            seen.assert_clean()
        assert status["phase"] == "Succeeded"
        attempts = {m["pod"].rsplit("-", 1)[0]: m["attempts"] for m in status["modules"]}
        assert all(attempts[name.rsplit("-", 1)[0]] == 2 for name in victims), attempts
    finally:
        cluster.stop()


def test_5_course_deleted_while_running_frees_slots_for_another(
    tmp_path: Path, courses_for: Callable[[Path], Courses], videos: list[Path],
) -> None:
    cluster, courses = start(tmp_path, courses_for)
    try:
        with Observed(cluster, courses) as seen:
            courses.create(CourseBuilder(name="c5a", sources=videos).obj())
            wait_for(lambda: len(seen.running_pods("c5a")) == 3, 30, "3 running pods")
            courses.create(CourseBuilder(name="c5b", sources=videos[:2]).obj())
            one = seen.running_pods("c5a")[0].metadata.name
            seen.core.delete_namespaced_pod(one, "default", grace_period_seconds=0)
            courses.delete("c5a")
            wait_for(lambda: not [c for c in courses.custom.list_namespaced_custom_object(
                "learning.dev", "v1alpha1", "default", "courses")["items"]
                if c["metadata"]["name"] == "c5a"], 30, "c5a to be gone (finalizer removed)")
            status = courses.wait_phase("c5b", DONE, timeout=60)
            seen.assert_clean()
        assert status["phase"] == "Succeeded"
        assert not [p for p in seen.core.list_namespaced_pod("default").items
                    if p.metadata.name.startswith("c5a-")]
        assert not [n for n in seen.creations.names if n.startswith("c5a-lesson-4")], \
            "no module of the deleted Course starts after the deletion"
    finally:
        cluster.stop()


def test_7_image_that_cannot_be_pulled_fails_after_max_attempts(
    tmp_path: Path, courses_for: Callable[[Path], Courses], videos: list[Path],
) -> None:
    cluster, courses = start(tmp_path, courses_for)
    try:
        courses.create(CourseBuilder(name="c7a", sources=videos[:2], processor={
            "image": "registry.invalid/course-worker:1", "maxAttempts": 2}).obj())
        courses.create(CourseBuilder(name="c7b", sources=videos[2:4]).obj())
        bad = courses.wait_phase("c7a", DONE, timeout=60)
        good = courses.wait_phase("c7b", DONE, timeout=60)
    finally:
        cluster.stop()
    assert good["phase"] == "Succeeded"
    assert bad["phase"] == "Failed" and bad["progress"] == 0
    for module in bad["modules"]:
        assert module["phase"] == "Failed" and module["attempts"] == 2
        assert module["reason"] in ("ErrImagePull", "ImagePullBackOff")
        assert "registry.invalid/course-worker:1" in module["message"]


def test_8_always_failing_module_creates_exactly_max_attempts_pods(
    tmp_path: Path, courses_for: Callable[[Path], Courses],
) -> None:
    """Its source's server refuses every connection: a retryable failure each time (a bad
    source would fail after one attempt, see tests/e2e/test_course_flow.py)."""
    cluster, courses = start(tmp_path, courses_for)
    try:
        with Observed(cluster, courses) as seen:
            courses.create(CourseBuilder(name="c8", sources=[unreachable_url()],
                                         processor={"maxAttempts": 3}).obj())
            deleted: set[str] = set()
            deadline = time.monotonic() + 90
            while courses.status("c8").get("phase") not in DONE:
                assert time.monotonic() < deadline, "c8 never finished"
                for pod in seen.core.list_namespaced_pod("default").items:
                    if pod.status.phase == "Failed" and pod.metadata.name not in deleted:
                        seen.core.delete_namespaced_pod(pod.metadata.name, "default",
                                                        grace_period_seconds=0)
                        deleted.add(pod.metadata.name)
                        cluster.controllers[-1].kill()
                        cluster.start_controller()
                time.sleep(0.1)
            status = courses.status("c8")
        module = status["modules"][0]
        assert module["phase"] == "Failed" and module["attempts"] == 3
        assert "source download failed" in module["message"]
        assert seen.creations.of_module("c8", "lesson-1") == [f"c8-lesson-1-{n}"
                                                              for n in (1, 2, 3)]
    finally:
        cluster.stop()


OOM_WORKER = '''#!{python}
"""A worker that reports 90% and is then killed as the OOM killer would (SIGKILL)."""
import os, signal, time
from kubernetes import client, config
config.load_kube_config()
client.CoreV1Api().patch_namespaced_pod(
    os.environ["POD_NAME"], os.environ["POD_NAMESPACE"],
    {{"metadata": {{"annotations": {{"learning.dev/progress": "90"}}}}}})
time.sleep(2.5)  # long enough for a sweep to copy the 90% into the status
os.kill(os.getpid(), signal.SIGKILL)
'''


def test_9_worker_killed_like_oom_after_90_percent(
    tmp_path: Path, courses_for: Callable[[Path], Courses], videos: list[Path],
) -> None:
    worker = tmp_path / "oom-worker"
    worker.write_text(OOM_WORKER.format(python=sys.executable))
    worker.chmod(0o755)
    cluster, courses = start(tmp_path, courses_for, worker_command=str(worker))
    seen_progress: list[tuple[str, int]] = []
    stop = threading.Event()

    def watch_status() -> None:
        while not stop.is_set():
            for module in courses.status("c9").get("modules") or []:
                seen_progress.append((module["phase"], int(module.get("progress", 0))))
            time.sleep(0.05)

    try:
        courses.create(CourseBuilder(name="c9", sources=videos[:1],
                                     processor={"maxAttempts": 2}).obj())
        watcher = threading.Thread(target=watch_status, daemon=True)
        watcher.start()
        status = courses.wait_phase("c9", DONE, timeout=60)
        stop.set()
        watcher.join(5)
    finally:
        cluster.stop()
    module = status["modules"][0]
    assert module["phase"] == "Failed" and module["reason"] == "OOMKilled"
    assert module["attempts"] == 2
    assert ("Running", 90) in seen_progress, "the 90% report was seen"
    assert all(phase != "Succeeded" and progress < 100 for phase, progress in seen_progress)


def test_11_two_controllers_on_one_postgresql(
    tmp_path: Path, courses_for: Callable[[Path], Courses], videos: list[Path],
    postgres_url: str,
) -> None:
    cluster = LocalCluster(tmp_path / "cluster", database_url=postgres_url).start()
    courses = courses_for(cluster.kubeconfig)
    try:
        cluster.start_controller()
        with Observed(cluster, courses) as seen:
            for name in ("c11a", "c11b"):
                courses.create(CourseBuilder(name=name, sources=videos).obj())
            statuses = [courses.wait_phase(n, DONE, timeout=120) for n in ("c11a", "c11b")]
            seen.assert_clean(limit=3)
        for status in statuses:
            assert status["phase"] == "Succeeded"
            assert [m["phase"] for m in status["modules"]] == ["Succeeded"] * 6
        assert len(seen.creations.names) == 12 == len(set(seen.creations.names))
        logs = [c.log_path.read_text() for c in cluster.controllers]
        assert all("pod created" in log for log in logs), "both controllers did work"
    finally:
        cluster.stop()


def test_12_database_connections_dropped_mid_run(
    tmp_path: Path, courses_for: Callable[[Path], Courses], videos: list[Path],
    postgres_url: str,
) -> None:
    cluster = LocalCluster(tmp_path / "cluster", database_url=postgres_url).start()
    courses = courses_for(cluster.kubeconfig)
    killer = Queue.from_url(postgres_url)
    dropped = 0
    try:
        courses.create(CourseBuilder(name="c12", sources=videos).obj())
        # Mid-run, as the case says: a connection lost at start-up stops the process (its
        # pod would be restarted), which is a different fault.
        wait_for(lambda: courses.status("c12").get("running"), 30, "modules to run")
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            with killer.engine.begin() as conn:
                dropped += len(conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all())
            time.sleep(0.3)
        status = courses.wait_phase("c12", DONE, timeout=120)
    finally:
        killer.close()
        cluster.stop()
    assert dropped > 0, "connections were really dropped"
    assert status["phase"] == "Succeeded"
