"""The Helm chart's RBAC grants exactly what the controller and the workers really ask for.

The sandbox records every request by bearer token (the controller has its own; each pod gets
`system:serviceaccount:<ns>:<account>`), the way RBAC sees them. A scenario that exercises
every path (processing, a failure with retries, a deletion with its finalizer) is run, and the
recorded (verb, resource) pairs are checked against the chart's rendered Roles: nothing
missing, nothing more.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.localcluster import LocalCluster
from tests.install.chart import find, objects
from tests.install.checks import rbac_problems

from .harness import CourseBuilder, Courses, wait_for

pytestmark = pytest.mark.e2e
WORKER_ACCOUNT = "course-controller-worker"
# kopf scans CRDs (and namespaces, for patterns) at start-up to resolve resources; when that
# is forbidden it logs a warning and uses the initial discovery instead (kopf's observation
# module), so the namespaced chart does not grant these cluster-scoped reads.
KOPF_OPTIONAL = {"apiextensions.k8s.io/customresourcedefinitions", "namespaces"}


def _requests(recorded: set[tuple[str, str, str]]) -> set[tuple[str, str]]:
    return {(verb, f"{group}/{resource}" if group else resource)
            for verb, group, resource in recorded}


def _role_rules(component: str) -> list[dict[str, object]]:
    roles = [r for r in find(objects(), "Role")
             if r["metadata"]["labels"]["app.kubernetes.io/component"] == component]
    assert len(roles) == 1, roles
    rules: list[dict[str, object]] = roles[0]["rules"]
    return rules


def test_chart_rbac_matches_what_the_controller_and_workers_request(
    tmp_path: Path, videos: list[Path], not_a_video: Path,
) -> None:
    settings = {"worker_service_account": WORKER_ACCOUNT, "max_attempts": "2"}
    with LocalCluster(tmp_path / "cluster", settings=settings) as cluster:
        from kubernetes import config

        api = config.new_client_from_config(str(cluster.kubeconfig))
        courses = Courses(api)
        courses.create(CourseBuilder(name="ok", sources=videos[:2]).obj())
        courses.create(CourseBuilder(name="bad", sources=[not_a_video]).obj())
        courses.wait_phase("ok", ("Succeeded",), timeout=60)
        courses.wait_phase("bad", ("Failed",), timeout=60)
        courses.create(CourseBuilder(name="busy", sources=videos[:2]).obj())
        wait_for(lambda: courses.status("busy").get("running") == 2, 30, "running modules")
        for name in ("ok", "busy"):  # a finished Course, and one with live pods to delete
            courses.delete(name)
        wait_for(lambda: not [c for c in courses.custom.list_namespaced_custom_object(
            "learning.dev", "v1alpha1", "default", "courses")["items"]
            if c["metadata"]["name"] in ("ok", "busy")], 30, "the deleted Courses to go")
        audit = cluster.sandbox.server.audit
        api.close()
    controller = _requests(audit["controller"])
    worker = _requests(audit[f"system:serviceaccount:default:{WORKER_ACCOUNT}"])
    assert ("create", "pods") in controller and ("patch", "learning.dev/courses/status") \
        in controller, "the scenario exercised the controller"
    assert worker == {("patch", "pods")}
    optional = {r for r in controller if r[1] in KOPF_OPTIONAL}
    assert rbac_problems(_role_rules("controller"), controller - optional) == []
    assert rbac_problems(_role_rules("worker"), worker) == []
