"""controller.kube against the sandbox API server: what the sweep reads is the whole cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller import kube
from controller.kube import Kube, KubeRejected
from controller.localcluster import LocalCluster
from controller.pods import MANAGED_BY, MANAGER

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


def _pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default",
                         "labels": {MANAGED_BY: MANAGER}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "worker", "image": "worker",
                                     "command": ["sh", "-c", "sleep 30"]}]}}


def test_pod_calls_answer_like_the_api_server(api_server: Kube) -> None:
    """Create (a repeat is a harmless 409), list by label, delete (a repeat is a harmless
    404), and a request the server rejects as invalid is permanent, not retried."""
    assert api_server.create_pod(_pod("kube-api-1")) is True
    assert api_server.create_pod(_pod("kube-api-1")) is False
    listed = {p["metadata"]["name"] for p in api_server.list_pods(["default"])}
    assert listed == {"kube-api-1"} == {p["metadata"]["name"] for p in api_server.list_pods(None)}
    api_server.delete_pod("default", "kube-api-1", grace_seconds=0)
    api_server.delete_pod("default", "kube-api-1")
    with pytest.raises(KubeRejected, match="create pod: 422"):
        api_server.create_pod(_pod("Not_A_Name"))


def test_events_are_posted_on_the_course(api_server: Kube) -> None:
    api_server.post_event("default", "c1", "uid-1", "Normal", "ModuleStarted", "started")
    data = api_server._core("GET", "/api/v1/namespaces/{namespace}/events",
                            {"namespace": "default"})
    events = json.loads(data)["items"]
    assert [(e["involvedObject"]["name"], e["reason"]) for e in events] == [
        ("c1", "ModuleStarted")]
