"""Finalizers and owner-reference garbage collection."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import GROUP, PLURAL, VERSION, course, eventually


def make_course(custom: client.CustomObjectsApi, ns: str, name: str, **meta: Any) -> dict[str, Any]:
    body = course(name)
    body["metadata"].update(meta)
    created: dict[str, Any] = custom.create_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, body
    )
    return created


def owned_config_map(core: client.CoreV1Api, ns: str, name: str, owner: dict[str, Any]) -> None:
    ref = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Course",
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": True,
    }
    core.create_namespaced_config_map(ns, {"metadata": {"name": name, "ownerReferences": [ref]}})


def gone(read: Any) -> bool:
    try:
        read()
    except ApiException as e:
        return e.status == 404
    return False


def test_finalizer_holds_object_until_removed(custom: client.CustomObjectsApi, ns: str) -> None:
    make_course(custom, ns, "x", finalizers=["learning.dev/cleanup"])
    deleted = custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "x")
    assert deleted["metadata"]["deletionTimestamp"]
    held = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "x")
    assert (
        held["metadata"]["deletionTimestamp"]
        and held["metadata"]["deletionGracePeriodSeconds"] == 0
    )
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "x", {"metadata": {"finalizers": None}}
    )
    assert gone(lambda: custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "x"))


def test_background_deletion_collects_dependents(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, ns: str
) -> None:
    owner = make_course(custom, ns, "x")
    owned_config_map(core, ns, "dep", owner)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "unrelated"}})
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "x")
    eventually(lambda: gone(lambda: core.read_namespaced_config_map("dep", ns)))
    assert core.read_namespaced_config_map("unrelated", ns)


def test_background_waits_for_owner_finalizers(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, ns: str
) -> None:
    owner = make_course(custom, ns, "x", finalizers=["a/b"])
    owned_config_map(core, ns, "dep", owner)
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "x")
    assert core.read_namespaced_config_map("dep", ns)
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "x", {"metadata": {"finalizers": None}}
    )
    eventually(lambda: gone(lambda: core.read_namespaced_config_map("dep", ns)))


def test_foreground_deletion(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, ns: str
) -> None:
    owner = make_course(custom, ns, "x")
    owned_config_map(core, ns, "dep", owner)
    core.patch_namespaced_config_map("dep", ns, {"metadata": {"finalizers": ["hold/on"]}})
    custom.delete_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "x", propagation_policy="Foreground"
    )
    held = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "x")
    assert "foregroundDeletion" in held["metadata"]["finalizers"]
    core.patch_namespaced_config_map("dep", ns, {"metadata": {"finalizers": None}})
    eventually(
        lambda: gone(lambda: custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "x"))
    )


def test_orphan_deletion_keeps_dependents(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, ns: str
) -> None:
    owner = make_course(custom, ns, "x")
    owned_config_map(core, ns, "dep", owner)
    custom.delete_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "x", propagation_policy="Orphan"
    )
    assert not core.read_namespaced_config_map("dep", ns).metadata.owner_references


def test_delete_missing_is_404(custom: client.CustomObjectsApi, ns: str) -> None:
    with pytest.raises(ApiException) as e:
        custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "nope")
    assert e.value.status == 404
