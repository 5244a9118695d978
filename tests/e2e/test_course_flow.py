"""The scenario this project exists for, end to end through the sandbox.

A Course with 6 modules for one owner, per-user limit 3: all 6 are queued at once, never more
than 3 run, each finish starts the next (the claim loop alone decides), and all 6 succeed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client
from sqlalchemy import func, select

from controller.db import Queue
from controller.db.schema import jobs
from controller.localcluster import LocalCluster

from .harness import CourseBuilder, Courses, PodSampler, unreachable_url, wait_for

pytestmark = pytest.mark.e2e


def _row_count(queue: Queue, uid: str) -> int:
    with queue.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(jobs.c.course_uid == uid))
                   .scalar_one())


def test_six_modules_all_succeed_never_more_than_three_at_once(
    cluster: LocalCluster, api: client.ApiClient, courses: Courses, videos: list[Path],
) -> None:
    queue = Queue.from_url(cluster.database_url)
    sampler = PodSampler(api)
    sampler.start()
    try:
        created = courses.create(CourseBuilder(name="six", sources=videos).obj())
        uid = created["metadata"]["uid"]
        # Enqueue is one transaction: the first time any row is visible, all 6 are.
        first_seen = wait_for(lambda: _row_count(queue, uid), 20, "the first reconcile")
        assert first_seen == 6
        status = courses.wait_phase("six", ("Succeeded", "Failed"), timeout=90)
    finally:
        sampler.stop()
        queue.close()
    assert status["phase"] == "Succeeded", status
    assert [m["phase"] for m in status["modules"]] == ["Succeeded"] * 6
    assert all(m["attempts"] == 1 and m["progress"] == 100 for m in status["modules"])
    assert status["progress"] == 100 and status["succeeded"] == 6
    assert sampler.samples > 10
    assert sampler.peak_per_owner["user-1"] == 3, "the limit should be used, never exceeded"
    assert not sampler.doubles
    result = status["modules"][0]["result"]
    assert result["duration"] == pytest.approx(2.0, rel=0.1)
    assert Path(result["rendition"]).is_file() and Path(result["thumbnail"]).is_file()


def test_a_bad_source_fails_at_once_a_transient_failure_uses_every_attempt(
    cluster: LocalCluster, api: client.ApiClient, courses: Courses, videos: list[Path],
    not_a_video: Path,
) -> None:
    """lesson-2 is not a video: no attempt can succeed, so it fails after its first, saying
    why and that it was not retried. lesson-4's server refuses connections: that may pass,
    so it is retried until its attempts run out. The good modules succeed meanwhile."""
    sources = [videos[0], not_a_video, videos[1], unreachable_url()]
    courses.create(CourseBuilder(name="mixed", sources=sources,
                                 processor={"maxAttempts": 3}).obj())
    status = courses.wait_phase("mixed", ("Succeeded", "Failed"), timeout=90)
    phases = {m["name"]: m for m in status["modules"]}
    assert status["phase"] == "Failed"
    assert phases["lesson-1"]["phase"] == phases["lesson-3"]["phase"] == "Succeeded"
    assert status["failed"] == 2 and status["succeeded"] == 2

    bad = phases["lesson-2"]
    assert (bad["phase"], bad["attempts"], bad["reason"]) == ("Failed", 1, "BadSource")
    assert "not a readable video" in bad["message"] and "notes.mp4" in bad["message"]
    assert "not retried" in bad["message"]
    assert "\n" not in bad["message"]

    flaky = phases["lesson-4"]
    assert (flaky["phase"], flaky["attempts"]) == ("Failed", 3)
    assert flaky["reason"] != "BadSource" and "source download failed" in flaky["message"]
    assert "not retried" not in flaky["message"]

    core = client.CoreV1Api(api)
    pods = sorted(p.metadata.name for p in core.list_namespaced_pod("default").items)
    assert [p for p in pods if p.startswith("mixed-lesson-2-")] == ["mixed-lesson-2-1"]
    assert [p for p in pods if p.startswith("mixed-lesson-4-")] == [
        f"mixed-lesson-4-{n}" for n in (1, 2, 3)]
    events = core.list_namespaced_event("default").items
    failed = [e.message for e in events if e.reason == "ModuleFailed"]
    assert any("lesson-2" in m and "BadSource" in m and "not retried" in m for m in failed)
    retried = [e.message for e in events if e.reason == "ModuleRetrying"]
    assert not any("lesson-2" in m for m in retried)
    assert sum("lesson-4" in m for m in retried) == 2


def test_killing_the_controller_mid_run_loses_nothing_and_runs_nothing_twice(
    cluster: LocalCluster, api: client.ApiClient, courses: Courses, videos: list[Path],
) -> None:
    sampler = PodSampler(api)
    sampler.start()
    try:
        courses.create(CourseBuilder(name="crash", sources=videos).obj())
        wait_for(lambda: courses.status("crash").get("running") == 3, 30, "3 running modules")
        cluster.controllers[0].kill()
        replacement = cluster.start_controller()
        status = courses.wait_phase("crash", ("Succeeded", "Failed"), timeout=90)
        assert replacement.alive()
    finally:
        sampler.stop()
    assert status["phase"] == "Succeeded", status
    assert sampler.peak_per_owner["user-1"] <= 3
    assert not sampler.doubles, f"modules with two live pods: {sampler.doubles}"
    pods = client.CoreV1Api(api).list_namespaced_pod("default").items
    assert sorted(p.metadata.name for p in pods) == [f"crash-lesson-{i}-1" for i in range(1, 7)]


def test_deleting_a_course_cancels_its_jobs_and_pods(
    cluster: LocalCluster, api: client.ApiClient, courses: Courses, videos: list[Path],
) -> None:
    courses.create(CourseBuilder(name="gone", sources=videos).obj())
    wait_for(lambda: courses.status("gone").get("running") == 3, 30, "3 running modules")
    courses.delete("gone")
    core = client.CoreV1Api(api)
    wait_for(lambda: not core.list_namespaced_pod("default").items, 30, "pods to go")
    wait_for(lambda: not courses.custom.list_namespaced_custom_object(
        "learning.dev", "v1alpha1", "default", "courses")["items"], 30, "the Course to go")
    queue = Queue.from_url(cluster.database_url)
    try:
        assert not queue.live_jobs(), "every job of a deleted Course is cancelled"
        with queue.engine.connect() as conn:
            states = conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state))
            counts = {str(state): int(n) for state, n in states}
    finally:
        queue.close()
    assert counts.get("cancelled", 0) >= 3 and set(counts) <= {"cancelled", "succeeded"}
