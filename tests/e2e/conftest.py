"""The end-to-end tier: the sandbox API server, a real queue, the controller as a process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from controller.localcluster import LocalCluster

from .harness import Courses


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    with LocalCluster(tmp_path / "cluster") as running:
        yield running


@pytest.fixture
def api(cluster: LocalCluster) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(str(cluster.kubeconfig))
    yield api_client
    api_client.close()


@pytest.fixture
def courses(api: client.ApiClient) -> Courses:
    return Courses(api)


