"""Object metadata, create/get/update errors, and their Status wording."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import GROUP, PLURAL, VERSION, course


def status_of(error: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body)
    assert body["kind"] == "Status"
    return body


def create(custom: client.CustomObjectsApi, ns: str, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = custom.create_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, body
    )
    return created


def test_create_stamps_metadata(custom: client.CustomObjectsApi, ns: str) -> None:
    first = create(custom, ns, course("a"))
    second = create(custom, ns, course("b"))
    meta = first["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1 and meta["namespace"] == ns
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
    assert int(listed["metadata"]["resourceVersion"]) >= int(second["metadata"]["resourceVersion"])


def test_generate_name(custom: client.CustomObjectsApi, ns: str) -> None:
    body = course("")
    body["metadata"] = {"generateName": "intro-"}
    name = create(custom, ns, body)["metadata"]["name"]
    assert name.startswith("intro-") and len(name) == len("intro-") + 5


def test_already_exists(custom: client.CustomObjectsApi, ns: str) -> None:
    create(custom, ns, course("x"))
    with pytest.raises(ApiException) as e:
        create(custom, ns, course("x"))
    status = status_of(e.value)
    assert (status["code"], status["reason"]) == (409, "AlreadyExists")
    assert status["message"] == 'courses.learning.dev "x" already exists'
    assert status["details"] == {"name": "x", "group": "learning.dev", "kind": "courses"}


def test_not_found(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("p", ns)
    status = status_of(e.value)
    assert (status["code"], status["reason"]) == (404, "NotFound")
    assert status["message"] == 'pods "p" not found'


def test_create_in_missing_namespace(custom: client.CustomObjectsApi) -> None:
    with pytest.raises(ApiException) as e:
        create(custom, "nope", course("x"))
    assert status_of(e.value)["message"] == 'namespaces "nope" not found'
    assert e.value.status == 404


def test_stale_update_conflicts(custom: client.CustomObjectsApi, ns: str) -> None:
    stale = create(custom, ns, course("x"))
    fresh = dict(stale, spec={**stale["spec"], "priority": 1})
    custom.replace_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "x", fresh)
    stale["spec"]["priority"] = 2
    with pytest.raises(ApiException) as e:
        custom.replace_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "x", stale)
    status = status_of(e.value)
    assert (status["code"], status["reason"]) == (409, "Conflict")
    assert status["message"] == (
        'Operation cannot be fulfilled on courses.learning.dev "x": the object has been'
        " modified; please apply your changes to the latest version and try again"
    )


def test_generation_bumps_on_spec_changes_only(custom: client.CustomObjectsApi, ns: str) -> None:
    create(custom, ns, course("x"))
    labelled = custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "x", {"metadata": {"labels": {"a": "b"}}}
    )
    assert labelled["metadata"]["generation"] == 1
    changed = custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "x", {"spec": {"priority": 7}}
    )
    assert changed["metadata"]["generation"] == 2


def test_noop_write_keeps_resource_version(custom: client.CustomObjectsApi, ns: str) -> None:
    created = create(custom, ns, course("x"))
    same = custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "x", {"spec": {"owner": "user-42"}}
    )
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_system_namespaces_exist(core: client.CoreV1Api) -> None:
    names = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kube-system"} <= names


def test_invalid_name(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "Bad_Name"}})
    status = status_of(e.value)
    assert status["reason"] == "Invalid"
    assert status["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid')
