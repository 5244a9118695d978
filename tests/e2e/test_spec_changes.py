"""Editing a live Course: suspend and resume, removing a module, changing priority."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.db import Queue
from controller.localcluster import LocalCluster
from controller.model import JobState

from .harness import CourseBuilder, Courses, wait_for

pytestmark = pytest.mark.e2e


def _patch_spec(courses: Courses, name: str, spec: dict[str, object]) -> None:
    courses.custom.patch_namespaced_custom_object(
        "learning.dev", "v1alpha1", "default", "courses", name, {"spec": spec})


def test_a_suspended_course_claims_nothing_until_resumed(
    cluster: LocalCluster, courses: Courses, videos: list[Path],
) -> None:
    body = CourseBuilder(name="paused", sources=videos[:4]).obj()
    body["spec"]["suspend"] = True
    courses.create(body)
    status = wait_for(lambda: (s := courses.status("paused")).get("phase") == "Suspended" and s,
                      20, "the Suspended phase")
    assert {m["reason"] for m in status["modules"]} == {"Suspended"}
    assert status["running"] == 0
    _patch_spec(courses, "paused", {"suspend": False})
    final = courses.wait_phase("paused", ("Succeeded", "Failed"), timeout=60)
    assert final["phase"] == "Succeeded" and final["observedGeneration"] == 2


def test_removing_a_queued_module_cancels_its_job(
    cluster: LocalCluster, courses: Courses, videos: list[Path],
) -> None:
    body = CourseBuilder(name="shrink", sources=videos).obj()
    body["spec"]["suspend"] = True
    courses.create(body)
    wait_for(lambda: courses.status("shrink").get("phase") == "Suspended", 20, "Suspended")
    modules = body["spec"]["modules"][:5]
    _patch_spec(courses, "shrink", {"modules": modules, "suspend": False})
    final = courses.wait_phase("shrink", ("Succeeded", "Failed"), timeout=60)
    assert [m["name"] for m in final["modules"]] == [f"lesson-{i}" for i in range(1, 6)]
    assert final["total"] == 5 and final["phase"] == "Succeeded"
    queue = Queue.from_url(cluster.database_url)
    try:
        uid = courses.get("shrink")["metadata"]["uid"]
        states = {j.module: j.state for j in queue.jobs_of_courses([uid])[uid]}
    finally:
        queue.close()
    assert states["lesson-6"] is JobState.CANCELLED
    assert all(states[f"lesson-{i}"] is JobState.SUCCEEDED for i in range(1, 6))


def test_a_new_source_for_a_queued_module_is_the_one_processed(
    cluster: LocalCluster, courses: Courses, videos: list[Path],
) -> None:
    body = CourseBuilder(name="reupload", sources=videos[:2]).obj()
    body["spec"]["suspend"] = True
    courses.create(body)
    wait_for(lambda: courses.status("reupload").get("phase") == "Suspended", 20, "Suspended")
    modules = body["spec"]["modules"]
    modules[1]["source"] = videos[5].resolve().as_uri()
    _patch_spec(courses, "reupload", {"modules": modules, "suspend": False})
    final = courses.wait_phase("reupload", ("Succeeded", "Failed"), timeout=60)
    assert final["phase"] == "Succeeded"
    assert final["modules"][1]["result"]["source"].endswith("upload-6.mp4")
