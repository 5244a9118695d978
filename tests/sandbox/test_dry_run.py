"""dryRun=All: answered like the real write, validated like it, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from .helpers import GROUP, PLURAL, VERSION, Kubectl, course


def list_rv(custom: client.CustomObjectsApi, ns: str) -> str:
    listed: dict[str, Any] = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
    return str(listed["metadata"]["resourceVersion"])


def names(custom: client.CustomObjectsApi, ns: str) -> list[str]:
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
    return [o["metadata"]["name"] for o in listed["items"]]


def events_since(custom: client.CustomObjectsApi, ns: str, rv: str) -> list[tuple[str, str]]:
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        ns,
        PLURAL,
        resource_version=rv,
        timeout_seconds=1,
    )
    return [(e["type"], e["object"]["metadata"]["name"]) for e in stream]


def test_dry_run_writes_store_nothing(custom: client.CustomObjectsApi, ns: str) -> None:
    existing = custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("real"))
    rv = existing["metadata"]["resourceVersion"]
    before = list_rv(custom, ns)

    created = custom.create_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, course("ghost"), dry_run="All"
    )
    assert created["metadata"]["uid"] and created["metadata"]["generation"] == 1
    patched = custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "real", {"spec": {"priority": 9}}, dry_run="All"
    )
    assert patched["spec"]["priority"] == 9 and patched["metadata"]["generation"] == 2
    assert patched["metadata"]["resourceVersion"] == rv
    replacement = {**existing, "spec": {**existing["spec"], "priority": 4}}
    replaced = custom.replace_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "real", replacement, dry_run="All"
    )
    assert replaced["spec"]["priority"] == 4 and replaced["metadata"]["resourceVersion"] == rv
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "real", dry_run="All")

    assert list_rv(custom, ns) == before
    assert names(custom, ns) == ["real"]
    assert custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "real") == existing
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "real", {"spec": {"priority": 1}}
    )
    assert events_since(custom, ns, before) == [("MODIFIED", "real")]


def test_dry_run_is_validated_like_a_write(custom: client.CustomObjectsApi, ns: str) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("real"))
    bad = course("bad")
    del bad["spec"]["owner"]
    with pytest.raises(ApiException) as invalid:
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, bad, dry_run="All")
    assert invalid.value.status == 422
    with pytest.raises(ApiException) as exists:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, course("real"), dry_run="All"
        )
    assert exists.value.status == 409
    with pytest.raises(ApiException) as unsupported:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, course("x"), dry_run="Some"
        )
    assert unsupported.value.status == 422
    message = json.loads(unsupported.value.body)["message"]
    assert 'dryRun: Unsupported value: "Some": supported values: "All"' in message
    assert names(custom, ns) == ["real"]


def test_kubectl_server_dry_run(kubectl: Kubectl) -> None:
    result = kubectl.run("apply", "--dry-run=server", "-f", "-", stdin=json.dumps(course("intro")))
    assert "course.learning.dev/intro created (server dry run)" in result.stdout
    assert kubectl.run("get", "crs", "-o", "name").stdout == ""
