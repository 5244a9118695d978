"""controller.kube against the sandbox API server: what the sweep reads is the whole cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller import kube
from controller.kube import Kube
from controller.localcluster import LocalCluster

from .harness import CourseBuilder, Courses


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[Kube]:
    with LocalCluster(tmp_path / "cluster", controller=False) as cluster:
        client = Kube.from_environment(str(cluster.kubeconfig))
        yield client
        client.close()


def test_list_courses_reads_every_page_of_a_paged_list(
    api_server: Kube, monkeypatch: pytest.MonkeyPatch,
) -> None:
    courses = Courses(api_server.api_client)
    names = [f"paged-{i}" for i in range(5)]
    for name in names:
        courses.create(CourseBuilder(name=name, sources=["file:///tmp/lesson.mp4"]).obj())
    monkeypatch.setattr(kube, "LIST_PAGE", 2)
    pages: list[str | None] = []
    read_page = api_server._courses_page

    def counted(namespace: str | None, token: str | None) -> dict[str, Any]:
        pages.append(token)
        return read_page(namespace, token)

    monkeypatch.setattr(api_server, "_courses_page", counted)

    assert sorted(c["metadata"]["name"] for c in api_server.list_courses(["default"])) == names
    assert len(pages) == 3 and pages[0] is None and all(pages[1:])
    assert sorted(c["metadata"]["name"] for c in api_server.list_courses(None)) == names
