"""PATCH content types, as kubectl, kopf and the official client send them."""

from __future__ import annotations

import json

import pytest
import requests
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from controller.sandbox import Sandbox

from .helpers import GROUP, PLURAL, VERSION, course


def raw_patch(sandbox: Sandbox, path: str, content_type: str, body: object) -> requests.Response:
    return requests.patch(
        sandbox.url + path,
        data=json.dumps(body),
        headers={"Content-Type": content_type},
        timeout=10,
    )


def course_path(ns: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}/{name}"


def test_json_patch_test_op_failure_is_422(
    sandbox: Sandbox, custom: client.CustomObjectsApi, ns: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "replace", "path": "/spec/priority", "value": 3},
    ]
    response = raw_patch(sandbox, course_path(ns, "x"), "application/json-patch+json", ops)
    assert response.status_code == 422
    assert response.json()["reason"] == "Invalid"


def test_json_patch_applies(sandbox: Sandbox, custom: client.CustomObjectsApi, ns: str) -> None:
    created = custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    ops = [
        {
            "op": "test",
            "path": "/metadata/resourceVersion",
            "value": created["metadata"]["resourceVersion"],
        },
        {"op": "add", "path": "/metadata/finalizers", "value": ["a/b"]},
    ]
    response = raw_patch(sandbox, course_path(ns, "x"), "application/json-patch+json", ops)
    assert response.status_code == 200
    assert response.json()["metadata"]["finalizers"] == ["a/b"]


def test_strategic_merge_patch_rejected_for_custom_resources(
    sandbox: Sandbox, custom: client.CustomObjectsApi, ns: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    response = raw_patch(
        sandbox,
        course_path(ns, "x"),
        "application/strategic-merge-patch+json",
        {"spec": {"priority": 1}},
    )
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"


def test_strategic_merge_patch_merges_containers_by_name(core: client.CoreV1Api, ns: str) -> None:
    body = {
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {"name": "a", "image": "missing-a:1", "env": [{"name": "X", "value": "1"}]},
                {"name": "b", "image": "missing-b:1"},
            ]
        },
    }
    core.create_namespaced_pod(ns, body)
    patched = core.patch_namespaced_pod(
        "p",
        ns,
        {
            "spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]},
            "metadata": {"finalizers": ["x/y"]},
        },
    )
    containers = {c.name: c for c in patched.spec.containers}
    assert set(containers) == {"a", "b"}
    assert [e.name for e in containers["a"].env] == ["X", "Y"]
    core.patch_namespaced_pod(
        "p", ns, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x/y"]}}
    )


def test_merge_patch_with_stale_resource_version_conflicts(
    custom: client.CustomObjectsApi, ns: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    with pytest.raises(ApiException) as e:
        custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            ns,
            PLURAL,
            "x",
            {"metadata": {"resourceVersion": "1"}, "spec": {"priority": 1}},
        )
    assert e.value.status == 409


def test_server_side_apply_creates_then_merges(sandbox: Sandbox, ns: str) -> None:
    path = course_path(ns, "x") + "?fieldManager=test&force=true"
    first = requests.patch(
        sandbox.url + path,
        data=json.dumps(course("x")),
        timeout=10,
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert first.status_code in (200, 201)
    applied = course("x", "lesson-1", "lesson-2")
    second = requests.patch(
        sandbox.url + path,
        data=json.dumps(applied),
        timeout=10,
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert second.status_code == 200
    assert [m["name"] for m in second.json()["spec"]["modules"]] == ["lesson-1", "lesson-2"]
