"""The status subresource splits who may write what, and status writes keep the generation."""

from __future__ import annotations

import json

from kubernetes import client

from .helpers import GROUP, PLURAL, VERSION, course


def test_main_resource_ignores_status(custom: client.CustomObjectsApi, ns: str) -> None:
    body = course("x")
    body["status"] = {"phase": "Succeeded"}
    created = custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    assert "status" not in created
    patched = custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "x", {"status": {"phase": "Failed"}}
    )
    assert "status" not in patched


def test_status_writes_change_only_status(custom: client.CustomObjectsApi, ns: str) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    patched = custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        ns,
        PLURAL,
        "x",
        {"spec": {"owner": "someone-else"}, "status": {"phase": "Processing", "progress": 5}},
    )
    assert patched["status"] == {"phase": "Processing", "progress": 5}
    assert patched["spec"]["owner"] == "user-42"
    assert patched["metadata"]["generation"] == 1


def test_status_is_validated(custom: client.CustomObjectsApi, ns: str) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    try:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, ns, PLURAL, "x", {"status": {"phase": "Sleeping"}}
        )
    except client.ApiException as e:
        assert e.status == 422
        assert 'status.phase: Unsupported value: "Sleeping"' in json.loads(e.body)["message"]
    else:
        raise AssertionError("an invalid status was accepted")


def test_pod_status_subresource(core: client.CoreV1Api, ns: str) -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "not-a-command-anywhere:1"}]},
    }
    core.create_namespaced_pod(ns, pod)
    patched = core.patch_namespaced_pod_status(
        "p", ns, {"status": {"message": "hello"}, "metadata": {"labels": {"x": "y"}}}
    )
    assert patched.status.message == "hello"
    assert not patched.metadata.labels
