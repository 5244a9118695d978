"""Helpers for the sandbox tests: builders, polling, and a kubectl runner."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kubernetes.client import ApiClient

REPO = Path(__file__).resolve().parents[2]
COURSE_CRD = REPO / "controller" / "crds" / "course.yaml"
GROUP, VERSION, PLURAL = "learning.dev", "v1alpha1", "courses"
T = TypeVar("T")


class Kubectl:
    def __init__(self, kubeconfig: Path, home: Path, namespace: str) -> None:
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}
        self.namespace = namespace

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubectl", "-n", self.namespace, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["kubectl", "-n", self.namespace, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )


def eventually(check: Callable[[], T | None], timeout: float = 10.0, what: str = "") -> T:
    """Poll ``check`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def course(name: str, *modules: str, owner: str = "user-42", **spec: Any) -> dict[str, Any]:
    """A valid Course; tests override only what they are about."""
    names = modules or ("lesson-1",)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Course",
        "metadata": {"name": name},
        "spec": {
            "owner": owner,
            "modules": [{"name": m, "source": f"https://files.example.com/{m}.mp4"} for m in names],
            **spec,
        },
    }


def pod(name: str, *command: str, **spec: Any) -> dict[str, Any]:
    """A pod running ``command`` (a python one-liner by default) with restartPolicy Never."""
    argv = list(command) or ["python", "-c", "pass"]
    container = {"name": "main", "image": "worker:1", "command": argv}
    container.update(spec.pop("container", {}))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, **spec.pop("metadata", {})},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


class Raw:
    """Plain HTTP to the API server through the official client's connection (so any
    kubeconfig's credentials work): for content types and streams the typed API hides."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        **query: str,
    ) -> tuple[int, Any]:
        status, data = self._call(method, path, body, content_type, query)
        return status, json.loads(data)

    def watch(self, path: str, **params: str) -> list[dict[str, Any]]:
        """All events of a watch that the server closes after ``timeoutSeconds`` (1 s)."""
        query = {"watch": "true", "timeoutSeconds": "1", **params}
        status, data = self._call("GET", path, None, "application/json", query)
        assert status == 200, data
        return [json.loads(line) for line in data.splitlines() if line.strip()]

    def _call(
        self, method: str, path: str, body: Any, content_type: str, query: dict[str, str]
    ) -> tuple[int, bytes]:
        request = self.api.param_serialize(
            method,
            path,
            query_params=list(query.items()),
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(*request)
        return int(response.status), bytes(response.read())
