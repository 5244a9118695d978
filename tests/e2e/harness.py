"""Helpers for the end-to-end tier: a local cluster, Course builders, and a sampler."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client

from controller.pods import GROUP, LABEL_MODULE, LABEL_OWNER, PLURAL, POD_SELECTOR, VERSION

T = TypeVar("T")


def unreachable_url(name: str = "lesson.mp4") -> str:
    """An http:// source on a local port nobody listens on: every download is refused at
    once, a transient failure the worker reports as retryable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"http://127.0.0.1:{port}/{name}"


def wait_for(predicate: Callable[[], T], timeout: float, what: str, every: float = 0.1) -> T:
    """Poll until ``predicate`` returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


@dataclass
class CourseBuilder:
    """A Course manifest with sane defaults; tests say only what differs.

    A source is a local file (given as a Path, sent as its file:// URI) or a URI as is.
    """

    name: str = "course"
    owner: str = "user-1"
    namespace: str = "default"
    sources: Sequence[Path | str] = field(default_factory=list)
    processor: dict[str, Any] = field(default_factory=dict)

    def obj(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"owner": self.owner, "modules": [
            {"name": f"lesson-{i}",
             "source": source.resolve().as_uri() if isinstance(source, Path) else source}
            for i, source in enumerate(self.sources, start=1)]}
        if self.processor:
            spec["processor"] = self.processor
        return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Course",
                "metadata": {"name": self.name, "namespace": self.namespace}, "spec": spec}


class Courses:
    """The Course API of the cluster under test."""

    def __init__(self, api: client.ApiClient, namespace: str = "default") -> None:
        self.custom = client.CustomObjectsApi(api)
        self.namespace = namespace

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body)
        return created

    def get(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name)
        return found

    def status(self, name: str) -> dict[str, Any]:
        return dict(self.get(name).get("status") or {})

    def delete(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def wait_phase(self, name: str, phases: tuple[str, ...], timeout: float) -> dict[str, Any]:
        return wait_for(lambda: (s := self.status(name)).get("phase") in phases and s,
                        timeout, f"course {name} to reach {phases}")


class PodSampler(threading.Thread):
    """Samples the live pods every few ms: peak per owner, and modules with two live pods."""

    def __init__(self, api: client.ApiClient, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.core = client.CoreV1Api(api)
        self.every = every
        self.peak_per_owner: Counter[str] = Counter()
        self.peak_total = 0
        self.doubles: list[str] = []
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            time.sleep(self.every)

    def sample(self) -> None:
        pods = self.core.list_pod_for_all_namespaces(label_selector=POD_SELECTOR).items
        live = [p for p in pods if p.status.phase in ("Pending", "Running")]
        owners = Counter(p.metadata.labels[LABEL_OWNER] for p in live)
        for owner, count in owners.items():
            self.peak_per_owner[owner] = max(self.peak_per_owner[owner], count)
        self.peak_total = max(self.peak_total, len(live))
        modules = Counter((p.metadata.namespace, p.metadata.labels[LABEL_MODULE],
                           p.metadata.owner_references[0].uid) for p in live)
        self.doubles += [str(key) for key, count in modules.items() if count > 1]
        self.samples += 1

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)


class PodCreations(threading.Thread):
    """Every pod ever created (by name), from a watch that resumes across stream timeouts."""

    def __init__(self, api: client.ApiClient) -> None:
        super().__init__(daemon=True)
        self.core = client.CoreV1Api(api)
        self.names: list[str] = []  # in creation order, one entry per ADDED event
        self._stop_event = threading.Event()

    def run(self) -> None:
        from kubernetes import watch

        version = ""
        while not self._stop_event.is_set():
            stream = watch.Watch()
            for event in stream.stream(self.core.list_pod_for_all_namespaces,
                                       label_selector=POD_SELECTOR, resource_version=version,
                                       timeout_seconds=1):
                obj = event["object"]
                version = obj.metadata.resource_version
                if event["type"] == "ADDED":
                    self.names.append(obj.metadata.name)
                if self._stop_event.is_set():
                    stream.stop()

    def of_module(self, course: str, module: str) -> list[str]:
        return [n for n in self.names if n.startswith(f"{course}-{module}-")]

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)
