"""A throwaway kopf operator runs against the sandbox: create, update, delete + finalizer."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from controller.sandbox import Sandbox

from .helpers import GROUP, PLURAL, VERSION, course, eventually


def build_registry(sandbox: Sandbox, seen: list[str]) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=sandbox.url, scheme="Bearer", token="sandbox")

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    def created(name: str, patch: kopf.Patch, **_: Any) -> None:
        seen.append(f"create {name}")
        patch.status["phase"] = "Pending"

    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec.priority", registry=registry)
    def updated(name: str, new: Any, patch: kopf.Patch, **_: Any) -> None:
        seen.append(f"update {name} {new}")
        patch.status["phase"] = "Processing"

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    def deleted(name: str, **_: Any) -> None:
        seen.append(f"delete {name}")

    return registry


@pytest.fixture
def operator(sandbox: Sandbox) -> Iterator[list[str]]:
    seen: list[str] = []
    registry = build_registry(sandbox, seen)
    stop = threading.Event()

    def run() -> None:
        settings = kopf.OperatorSettings()
        settings.posting.level = logging.INFO
        settings.watching.server_timeout = 10
        settings.persistence.finalizer = "test.learning.dev/finalizer"
        asyncio.run(
            kopf.operator(
                registry=registry,
                settings=settings,
                standalone=True,
                clusterwide=True,
                stop_flag=stop,
            )
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield seen
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_kopf_operator_lifecycle(
    operator: list[str], custom: client.CustomObjectsApi, ns: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("k"))

    def get() -> dict[str, Any]:
        found: dict[str, Any] = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "k")
        return found

    eventually(
        lambda: get().get("status", {}).get("phase") == "Pending",
        timeout=20,
        what="create handler's status",
    )
    assert "test.learning.dev/finalizer" in get()["metadata"]["finalizers"]
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "k", {"spec": {"priority": 3}}
    )
    eventually(
        lambda: get().get("status", {}).get("phase") == "Processing",
        timeout=20,
        what="update handler's status",
    )
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "k")

    def gone() -> bool:
        try:
            get()
        except ApiException as e:
            return e.status == 404
        return False

    eventually(gone, timeout=20, what="finalizer removed by kopf")
    assert operator == ["create k", "update k 3", "delete k"]
