"""PATCH content types, as kubectl, kopf and the official client send them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import GROUP, PLURAL, VERSION, Raw, course


def raw_patch(raw: Raw, path: str, content_type: str, body: object) -> tuple[int, Any]:
    return raw.request("PATCH", path, body, content_type)


def course_path(ns: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}/{name}"


def test_json_patch_test_op_failure_is_422(
    raw: Raw, custom: client.CustomObjectsApi, ns: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "replace", "path": "/spec/priority", "value": 3},
    ]
    code, body = raw_patch(raw, course_path(ns, "x"), "application/json-patch+json", ops)
    assert (code, body["reason"]) == (422, "Invalid")


def test_json_patch_applies(raw: Raw, custom: client.CustomObjectsApi, ns: str) -> None:
    created = custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    ops = [
        {
            "op": "test",
            "path": "/metadata/resourceVersion",
            "value": created["metadata"]["resourceVersion"],
        },
        {"op": "add", "path": "/metadata/finalizers", "value": ["a/b"]},
    ]
    code, body = raw_patch(raw, course_path(ns, "x"), "application/json-patch+json", ops)
    assert code == 200
    assert body["metadata"]["finalizers"] == ["a/b"]


def test_strategic_merge_patch_rejected_for_custom_resources(
    raw: Raw, custom: client.CustomObjectsApi, ns: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    response = raw_patch(
        raw,
        course_path(ns, "x"),
        "application/strategic-merge-patch+json",
        {"spec": {"priority": 1}},
    )
    assert (response[0], response[1]["reason"]) == (415, "UnsupportedMediaType")


@pytest.mark.sandbox_only(
    "changes a pod's containers, which a real API server forbids (the sandbox does not)"
)
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


def test_server_side_apply_creates_then_merges(raw: Raw, ns: str) -> None:
    def apply(body: object) -> tuple[int, Any]:
        return raw.request(
            "PATCH",
            course_path(ns, "x"),
            json.dumps(body),
            "application/apply-patch+yaml",
            fieldManager="test",
            force="true",
        )

    code, _ = apply(course("x"))
    assert code in (200, 201)
    code, applied = apply(course("x", "lesson-1", "lesson-2"))
    assert code == 200
    assert [m["name"] for m in applied["spec"]["modules"]] == ["lesson-1", "lesson-2"]
