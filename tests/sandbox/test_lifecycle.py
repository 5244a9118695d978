"""Discovery documents and the Sandbox's own start/stop contract."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from controller.sandbox import Sandbox

from .helpers import COURSE_CRD, Raw, eventually, pod


def get(raw: Raw, path: str) -> Any:
    code, body = raw.request("GET", path)
    assert code == 200, body
    return body


def test_discovery(raw: Raw) -> None:
    assert get(raw, "/version")["major"] == "1"
    groups = get(raw, "/apis")["groups"]
    assert {"learning.dev", "apiextensions.k8s.io", "events.k8s.io"} <= {g["name"] for g in groups}
    resources = get(raw, "/apis/learning.dev/v1alpha1")
    courses = next(r for r in resources["resources"] if r["name"] == "courses")
    assert courses["shortNames"] == ["crs"] and courses["namespaced"] is True
    assert courses["kind"] == "Course" and "watch" in courses["verbs"]
    assert "courses/status" in {r["name"] for r in resources["resources"]}
    core = get(raw, "/api/v1")["resources"]
    assert {"namespaces", "pods", "pods/status", "pods/log", "events"} <= {r["name"] for r in core}


@pytest.mark.sandbox_only("starts and stops a Sandbox of its own")
def test_stop_kills_pod_processes(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, crd_paths=[COURSE_CRD])
    box.start()
    try:
        api = config.new_client_from_config(str(box.kubeconfig_path))
        core = client.CoreV1Api(api)
        core.create_namespaced_pod("default", pod("sleeper", "sleep", "60"))

        def pid() -> int | None:
            statuses = core.read_namespaced_pod("sleeper", "default").status.container_statuses
            running = statuses and statuses[0].state.running
            return int(statuses[0].container_id.split("//")[1]) if running else None

        process = eventually(pid, timeout=15, what="pod running")
        api.close()
    finally:
        box.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(process, 0)
    assert box.kubeconfig_path.exists()
