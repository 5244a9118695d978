"""Through the sandbox (issue 8, items 3 and 5): slot freed -> next pod, and controller memory.

Both start a LocalCluster (emulated API server + pod runner in this process, the controller
as a subprocess) on a throw-away PostgreSQL database, with pods whose command is a short
``sh -c 'sleep ...'`` instead of the video worker, so the figures are the controller's.

- Slot to start: one owner, per-user limit 1, a Course of N modules: the pods run one after
  the other. A watch in this process stamps each pod's ``Succeeded`` and the next pod's
  ``ADDED``; the gap is the time from a pod's exit to its successor's creation. With the
  fast path (the pod event wakes the sweep) and without it (``bench.sweep_only_controller``:
  the next periodic sweep, every ``sweepInterval`` = 1 s, notices).
- Scale: 1,000 Courses of 6 modules created at once through the API (8 client threads);
  time until all 6,000 jobs exist, then the controller's peak RSS (VmHWM) over the burst and
  a settling period, and its Kubernetes writes per module.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from sqlalchemy import text

from bench.common import Databases, Figure, median, percentile
from bench.fakekube import course_body
from controller.db.engine import make_engine
from controller.localcluster import LocalCluster
from controller.pods import GROUP, PLURAL, POD_SELECTOR, VERSION

REPO = str(Path(__file__).resolve().parent.parent)


class PodTimes(threading.Thread):
    """Monotonic stamps of each pod's creation and first Succeeded, from a watch."""

    def __init__(self, api: client.ApiClient) -> None:
        super().__init__(daemon=True)
        self.core = client.CoreV1Api(api)
        self.created: dict[str, float] = {}
        self.exited: dict[str, float] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        version = ""
        while not self._halt.is_set():
            stream = watch.Watch()  # type: ignore[no-untyped-call]
            for event in stream.stream(  # type: ignore[no-untyped-call]
                    self.core.list_pod_for_all_namespaces,
                                       label_selector=POD_SELECTOR, resource_version=version,
                                       timeout_seconds=1):
                now = time.monotonic()
                obj = event["object"]
                version = obj.metadata.resource_version
                name = obj.metadata.name
                if event["type"] == "ADDED":
                    self.created.setdefault(name, now)
                if obj.status and obj.status.phase == "Succeeded":
                    self.exited.setdefault(name, now)
                if self._halt.is_set():
                    stream.stop()  # type: ignore[no-untyped-call]

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def _cluster(dbs: Databases, workdir: Path, settings: dict[str, Any]) -> tuple[LocalCluster, str]:
    name = dbs.create()
    cluster = LocalCluster(workdir, database_url=dbs.sqlalchemy_url(name), controller=False,
                           settings=settings)
    return cluster, name


def slot_to_start(dbs: Databases, *, modules: int, fast_path: bool) -> list[Figure]:
    label = "fast path" if fast_path else "sweep only"
    entry = ("-m", "controller.cli") if fast_path else ("-m", "bench.sweep_only_controller")
    with tempfile.TemporaryDirectory() as tmp:
        cluster, name = _cluster(dbs, Path(tmp), {
            "per_user_limit": "1", "worker_command": "sh,-c,sleep 0.3"})
        try:
            cluster.start()
            cluster.start_controller(entry=entry, extra_env={"PYTHONPATH": REPO})
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                str(cluster.kubeconfig))
            times = PodTimes(api)
            times.start()
            custom = client.CustomObjectsApi(api)
            custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL,
                                                   _manifest(0, modules, "solo"))
            deadline = time.monotonic() + 30 + modules * 3
            while len(times.exited) < modules and time.monotonic() < deadline:
                time.sleep(0.1)
            times.stop()
            order = sorted(times.created, key=times.created.__getitem__)
            gaps = [(times.created[nxt] - times.exited[prev]) * 1000
                    for prev, nxt in itertools.pairwise(order) if prev in times.exited]
        finally:
            cluster.stop()
            dbs.drop(name)
    if not gaps:
        return [Figure("slot", f"pod exit -> next pod created ({label})", float("nan"), "ms",
                       note="no pod finished")]
    p50, p95 = percentile(gaps, 50), percentile(gaps, 95)
    return [Figure("slot", f"pod exit -> next pod created ({label}), p95", p95, "ms", gaps,
                   target="< 1000 ms" if fast_path else "", met=(p95 < 1000) if fast_path
                   else None, note=f"p50 {p50:.0f} ms, {len(gaps)} gaps")]


def _manifest(index: int, modules: int, owner: str | None = None) -> dict[str, Any]:
    body = course_body(index, modules, owner)
    body["metadata"] = {"name": body["metadata"]["name"], "namespace": "default"}
    body.pop("status")
    return body


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def scale(dbs: Databases, *, courses: int, modules: int, settle: float) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        cluster, name = _cluster(dbs, Path(tmp), {
            "worker_command": "sh,-c,sleep 600", "global_limit": "100"})
        writes: dict[str, int] = {}
        try:
            cluster.start()
            server = cluster.sandbox.server
            record = server._record

            def counting(request: Any, group: str, target: Any) -> None:
                token = request.headers.get("Authorization", "").removeprefix("Bearer ")
                if token.strip() == "controller" and request.method != "GET":
                    key = target.rt.plural + (f"/{target.subresource}"
                                              if target.subresource else "")
                    writes[key] = writes.get(key, 0) + 1
                record(request, group, target)

            server._record = counting  # type: ignore[method-assign]
            proc = cluster.start_controller()
            assert proc.proc is not None
            pid = proc.proc.pid
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                str(cluster.kubeconfig))
            custom = client.CustomObjectsApi(api)
            engine = make_engine(dbs.sqlalchemy_url(name))
            time.sleep(2)  # the controller's start-up is not part of the figure
            started = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: custom.create_namespaced_custom_object(
                    GROUP, VERSION, "default", PLURAL, _manifest(i, modules)), range(courses)))
            created = time.monotonic() - started
            rss_samples = []
            rows = 0
            while rows < courses * modules and time.monotonic() - started < 600:
                with engine.connect() as conn:
                    rows = conn.execute(text("SELECT count(*) FROM jobs")).scalar_one()
                rss_samples.append(_rss_kb(pid, "VmRSS"))
                time.sleep(0.1)
            all_rows = time.monotonic() - started
            end = time.monotonic() + settle
            while time.monotonic() < end:
                rss_samples.append(_rss_kb(pid, "VmRSS"))
                time.sleep(0.2)
            peak_mb = _rss_kb(pid, "VmHWM") / 1024
            engine.dispose()
        finally:
            cluster.stop()
            dbs.drop(name)
    per_module = sum(writes.values()) / (courses * modules)
    return [
        Figure("sandbox", f"{courses:,} Courses x {modules} created at once: all "
               f"{courses * modules:,} jobs exist", all_rows, "s",
               note=f"API creates took {created:.1f} s"),
        Figure("sandbox", f"controller peak RSS, {courses:,} Courses / "
               f"{courses * modules:,} modules in flight", peak_mb, "MB",
               target="< 150 MB", met=peak_mb < 150,
               note=f"median sampled RSS {median([float(s) for s in rss_samples]) / 1024:.0f} MB"),
        Figure("sandbox", "controller Kubernetes writes per module (burst + settle)",
               per_module, "writes", note=", ".join(f"{k} {v}" for k, v in
                                                     sorted(writes.items()))),
    ]


