"""RBAC grants exactly what the controller and the workers use, in the right scope."""

from __future__ import annotations

from typing import Any

import pytest

from .chart import find, objects, one, pod_spec
from .checks import Request, rbac_problems
from .conftest import NON_DEFAULT, SQLITE

CONTROLLER_REQUESTS: set[Request] = {
    # kopf: watch streams start with a list; the finalizer and its progress/diff-base
    # annotations are merge patches of the Course.
    ("list", "learning.dev/courses"), ("watch", "learning.dev/courses"),
    ("patch", "learning.dev/courses"),
    # kube.Kube.patch_course_status.
    ("patch", "learning.dev/courses/status"),
    # kopf posts events (core v1) about the Courses it handles.
    ("create", "events"),
    # kube.Kube list_pods / create_pod / delete_pod; kopf's pod event handler watches them.
    ("list", "pods"), ("watch", "pods"), ("create", "pods"), ("delete", "pods"),
}
"""Read from controller/kube.py, controller/handlers.py and kopf; the recorded requests of a
sandbox run can replace this set (rbac_problems takes any set of (verb, resource))."""

WORKER_REQUESTS: set[Request] = {("patch", "pods")}  # its own pod's progress annotation


def test_the_checker_finds_missing_and_extra_grants() -> None:
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
             {"apiGroups": ["*"], "resources": ["secrets"], "verbs": ["get"],
              "resourceNames": ["x"]}]
    problems = rbac_problems(rules, {("list", "pods"), ("create", "events")})
    assert "missing: create events" in problems
    assert "not needed: get pods" in problems
    assert any("wildcard" in p for p in problems)
    assert any("resourceNames" in p for p in problems)
    assert rbac_problems(rules[:1], {("list", "pods"), ("get", "pods")}) == []


@pytest.mark.parametrize("values", [{}, SQLITE], ids=["default", "two-namespaces"])
def test_namespaced_roles_in_each_watched_namespace(values: dict[str, Any]) -> None:
    objs = objects(values)
    assert not find(objs, "ClusterRole") and not find(objs, "ClusterRoleBinding")
    watched = one(objs, "ConfigMap")["data"]["COURSE_NAMESPACES"].split(",")
    controller_sa = pod_spec(one(objs, "Deployment"))["serviceAccountName"]
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in find(objs, "Role")}
    for binding in find(objs, "RoleBinding"):
        ns = binding["metadata"]["namespace"]
        role = roles[(ns, binding["roleRef"]["name"])]
        (subject,) = binding["subjects"]
        is_worker = binding["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
        needed = WORKER_REQUESTS if is_worker else CONTROLLER_REQUESTS
        assert rbac_problems(role["rules"], needed) == [], binding["metadata"]
        if is_worker:
            assert subject == {"kind": "ServiceAccount", "name": "course-controller-worker",
                               "namespace": ns}
        else:
            assert subject == {"kind": "ServiceAccount", "name": controller_sa,
                               "namespace": "course-system"}
    bound = {(b["metadata"]["namespace"], b["metadata"]["labels"]["app.kubernetes.io/component"])
             for b in find(objs, "RoleBinding")}
    assert bound == {(ns, part) for ns in watched for part in ("controller", "worker")}


def test_all_namespaces_uses_a_cluster_role_and_workers_stay_namespaced() -> None:
    objs = objects(NON_DEFAULT)
    role = one(objs, "ClusterRole")
    assert rbac_problems(role["rules"], CONTROLLER_REQUESTS) == []
    binding = one(objs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "courses",
                                    "namespace": "course-system"}]
    worker_roles = find(objs, "Role")
    assert {r["metadata"]["namespace"] for r in worker_roles} == {"team-a", "team-b"}
    for worker_role in worker_roles:
        assert rbac_problems(worker_role["rules"], WORKER_REQUESTS) == []
    accounts = {(a["metadata"]["namespace"], a["metadata"]["name"])
                for a in find(objs, "ServiceAccount")}
    assert accounts == {("course-system", "courses"), ("team-a", "video-worker"),
                        ("team-b", "video-worker")}


def test_rbac_and_accounts_can_be_left_to_the_operator() -> None:
    objs = objects({"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "x"},
                    "worker": {"serviceAccount": {"create": False, "name": "w"}}})
    for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ServiceAccount"):
        assert not find(objs, kind), kind
    assert pod_spec(one(objs, "Deployment"))["serviceAccountName"] == "x"
    assert one(objs, "ConfigMap")["data"]["COURSE_WORKER_SERVICE_ACCOUNT"] == "w"
