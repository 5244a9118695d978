"""Fixtures for the sandbox conformance tests: one Sandbox per session, a namespace per test.

Every kubectl test runs real /usr/bin/kubectl with its own HOME (discovery cache) and only
uses behaviour a real cluster has, so the same tests could run against one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from controller.sandbox import Sandbox

from .helpers import COURSE_CRD, Kubectl


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path_factory.mktemp("sandbox"), crd_paths=[COURSE_CRD])
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def api(sandbox: Sandbox) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(str(sandbox.kubeconfig_path))
    yield api_client
    api_client.close()


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


@pytest.fixture
def ns(core: client.CoreV1Api) -> str:
    """A fresh namespace, so tests never see each other's objects."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture
def kubectl(sandbox: Sandbox, ns: str, tmp_path: Path) -> Kubectl:
    return Kubectl(sandbox.kubeconfig_path, tmp_path / "home", ns)
