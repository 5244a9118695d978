"""The end-to-end tier: the sandbox API server, a real queue, the controller as a process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from controller.localcluster import LocalCluster
from controller.samples import make_not_a_video, make_sample_video

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


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six short, real MP4 uploads."""
    root = tmp_path_factory.mktemp("uploads")
    return [make_sample_video(root / f"upload-{i}.mp4", seconds=2.0, label=f"upload {i}")
            for i in range(1, 7)]


@pytest.fixture(scope="session")
def not_a_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_not_a_video(tmp_path_factory.mktemp("bad") / "notes.mp4")
