"""Fixtures for the conformance tests: the sandbox, or a real cluster, and a namespace per test.

By default one Sandbox is started per session. The same tests run against a real cluster
(a kind cluster, say) when given its kubeconfig::

    pytest tests/sandbox --kube-conformance-kubeconfig ~/.kube/config
    COURSE_CONFORMANCE_KUBECONFIG=~/.kube/config pytest tests/sandbox   # same thing

(the option exists once this directory's conftest is loaded, i.e. when the command line
names tests/sandbox or a file in it; the environment variable works from anywhere). Then
no sandbox is started: the Course CRD from controller/crds/course.yaml is applied (created
or replaced) and waited for until Established, each test gets a fresh namespace that is
deleted afterwards, and kubectl, the official client and kopf all use that kubeconfig.

Every kubectl test runs real /usr/bin/kubectl with its own HOME (discovery cache). Tests
that need the sandbox itself (its pod runner, its store's history limit, its start/stop)
are marked ``sandbox_only("why")`` and are skipped against a real cluster with that reason;
so is any test that asks for the ``sandbox`` fixture.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from controller.sandbox import Sandbox

from .helpers import COURSE_CRD, Kubectl, Raw, eventually

OPTION = "--kube-conformance-kubeconfig"
ENVIRONMENT = "COURSE_CONFORMANCE_KUBECONFIG"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        OPTION,
        default=None,
        metavar="PATH",
        help=f"run tests/sandbox against the real cluster of this kubeconfig (or ${ENVIRONMENT})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sandbox_only(reason): skipped when the tests run against a real cluster"
    )


def external_kubeconfig(config: pytest.Config) -> Path | None:
    """The real cluster's kubeconfig, if the run asked for one."""
    given = config.getoption(OPTION, default=None) or os.environ.get(ENVIRONMENT)
    return Path(given).expanduser() if given else None


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("sandbox_only")
    if marker is not None and external_kubeconfig(item.config) is not None:
        pytest.skip(f"sandbox only: {marker.args[0] if marker.args else marker.kwargs}")


@pytest.fixture(scope="session")
def real_cluster(pytestconfig: pytest.Config) -> Path | None:
    return external_kubeconfig(pytestconfig)


@pytest.fixture(scope="session")
def session_sandbox(
    real_cluster: Path | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox | None]:
    """The session's Sandbox, or None (and the Course CRD installed) on a real cluster."""
    if real_cluster is not None:
        install_course_crd(real_cluster)
        yield None
        return
    box = Sandbox(tmp_path_factory.mktemp("sandbox"), crd_paths=[COURSE_CRD])
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def kubeconfig(session_sandbox: Sandbox | None, real_cluster: Path | None) -> Path:
    """The kubeconfig every client uses: the real cluster's, or the Sandbox's."""
    if session_sandbox is None:
        assert real_cluster is not None
        return real_cluster
    return session_sandbox.kubeconfig_path


@pytest.fixture(scope="session")
def sandbox(session_sandbox: Sandbox | None) -> Sandbox:
    """The Sandbox object itself, for tests that reach into it."""
    if session_sandbox is None:
        pytest.skip("sandbox only: uses the Sandbox object itself")
    return session_sandbox


def install_course_crd(path: Path) -> None:
    api_client = config.new_client_from_config(str(path))
    crds = client.ApiextensionsV1Api(api_client)
    with COURSE_CRD.open() as f:
        body = yaml.safe_load(f)
    name = body["metadata"]["name"]
    try:
        crds.create_custom_resource_definition(body)
    except ApiException as e:
        if e.status != 409:
            raise
        current = crds.read_custom_resource_definition(name)
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        crds.replace_custom_resource_definition(name, body)

    def established() -> bool:
        conditions = crds.read_custom_resource_definition(name).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    eventually(established, timeout=60, what=f"CRD {name} Established")
    api_client.close()


@pytest.fixture(scope="session")
def api(kubeconfig: Path) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(str(kubeconfig))
    yield api_client
    api_client.close()


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


@pytest.fixture
def raw(api: client.ApiClient) -> Raw:
    return Raw(api)


@pytest.fixture
def ns(core: client.CoreV1Api, real_cluster: Path | None) -> Iterator[str]:
    """A fresh namespace, so tests never see each other's objects (deleted afterwards on a
    real cluster; the sandbox keeps them for post-mortems)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    if real_cluster is not None:
        core.delete_namespace(name)


@pytest.fixture
def kubectl(kubeconfig: Path, ns: str, tmp_path: Path) -> Kubectl:
    return Kubectl(kubeconfig, tmp_path / "home", ns)
