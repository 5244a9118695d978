"""A throwaway kopf operator runs against the server, cluster-wide and namespaced: create,
update, delete + finalizer, and only the objects in its scope."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import kopf
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import GROUP, PLURAL, VERSION, course, eventually


def connection(api: client.ApiClient) -> kopf.ConnectionInfo:
    """kopf's credentials, taken from the client the fixtures loaded from the kubeconfig."""
    cfg = api.configuration
    token = (cfg.api_key or {}).get("authorization", "").removeprefix("Bearer ").strip()
    return kopf.ConnectionInfo(
        server=cfg.host,
        scheme="Bearer" if token else None,
        token=token or None,
        ca_path=cfg.ssl_ca_cert,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
        insecure=not cfg.verify_ssl,
    )


def build_registry(api: client.ApiClient, seen: list[str]) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return connection(api)

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    def created(namespace: str, name: str, patch: kopf.Patch, **_: Any) -> None:
        seen.append(f"create {namespace}/{name}")
        patch.status["phase"] = "Pending"

    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec.priority", registry=registry)
    def updated(namespace: str, name: str, new: Any, patch: kopf.Patch, **_: Any) -> None:
        seen.append(f"update {namespace}/{name} {new}")
        patch.status["phase"] = "Processing"

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    def deleted(namespace: str, name: str, **_: Any) -> None:
        seen.append(f"delete {namespace}/{name}")

    return registry


@pytest.fixture
def other_ns(core: client.CoreV1Api) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    return name


@dataclass
class Operator:
    mode: str
    seen: list[str] = field(default_factory=list)


@pytest.fixture(params=["clusterwide", "namespaced"])
def operator(request: pytest.FixtureRequest, api: client.ApiClient, ns: str) -> Iterator[Operator]:
    """kopf in a thread, watching every namespace or only the test's."""
    running = Operator(str(request.param))
    registry = build_registry(api, running.seen)
    stop = threading.Event()
    scope: dict[str, Any] = (
        {"clusterwide": True} if request.param == "clusterwide" else {"namespaces": [ns]}
    )

    def run() -> None:
        settings = kopf.OperatorSettings()
        settings.posting.level = logging.INFO
        settings.watching.server_timeout = 10
        settings.persistence.finalizer = "test.learning.dev/finalizer"
        asyncio.run(
            kopf.operator(
                registry=registry, settings=settings, standalone=True, stop_flag=stop, **scope
            )
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield running
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_kopf_operator_lifecycle(
    operator: Operator, custom: client.CustomObjectsApi, ns: str, other_ns: str
) -> None:
    seen = operator.seen

    def get(namespace: str = ns) -> dict[str, Any]:
        found: dict[str, Any] = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "k"
        )
        return found

    custom.create_namespaced_custom_object(GROUP, VERSION, other_ns, PLURAL, course("k"))
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("k"))
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
    mine = [s for s in seen if f" {ns}/" in s]
    assert mine == [f"create {ns}/k", f"update {ns}/k 3", f"delete {ns}/k"]
    if operator.mode == "clusterwide":
        eventually(lambda: f"create {other_ns}/k" in seen, timeout=20, what="other namespace")
    else:
        assert f"create {other_ns}/k" not in seen
        assert "finalizers" not in get(other_ns)["metadata"]
