"""``course-controller demo``: the main job on real input, in one command.

Starts the sandbox and the controller, makes short real MP4 files, applies a Course with one
module per file, and shows the modules' phase and progress until every one is done.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config

from controller.localcluster import LocalCluster
from controller.pods import GROUP, PLURAL, VERSION
from controller.samples import make_sample_video

OWNER = "demo-user"
COURSE = "demo-course"


def course_manifest(sources: list[Path]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Course",
        "metadata": {"name": COURSE, "namespace": "default"},
        "spec": {"owner": OWNER, "modules": [
            {"name": f"lesson-{i}", "source": path.resolve().as_uri()}
            for i, path in enumerate(sources, start=1)]},
    }


def render(status: dict[str, Any], elapsed: float, peak: int, limit: int) -> str:
    """A plain-text table of the modules (also readable when piped to a file)."""
    lines = [f"[{elapsed:5.1f}s] course {COURSE}: {status.get('phase', 'Pending')} "
             f"{status.get('progress', 0)}%  running {status.get('running', 0)} "
             f"(peak {peak}/{limit})  succeeded {status.get('succeeded', 0)}/"
             f"{status.get('total', '?')}"]
    for module in status.get("modules") or []:
        why = module.get("reason", "") if module.get("phase") == "Queued" else ""
        lines.append(f"    {module['name']:<10} {module['phase']:<10} "
                     f"{module.get('progress', 0):>3}%  attempts {module.get('attempts', 0)}"
                     f"  {why}")
    return "\n".join(lines)


def run_demo(workdir: Path | None, *, modules: int, per_user_limit: int, timeout: float) -> int:
    """Run the demo; returns the process exit code (0: every module Succeeded)."""
    with tempfile.TemporaryDirectory(prefix="course-demo-") as tmp:
        root = (workdir or Path(tmp)).resolve()
        sources = [make_sample_video(root / "uploads" / f"lesson-{i}.mp4", seconds=2.0,
                                     label=f"lesson {i}") for i in range(1, modules + 1)]
        print(f"made {len(sources)} sample videos in {root / 'uploads'}")
        cluster = LocalCluster(root, settings={"per_user_limit": str(per_user_limit)})
        with cluster:
            print(f"sandbox API server {cluster.sandbox.url} (kubeconfig {cluster.kubeconfig})")
            code = _watch(cluster, sources, per_user_limit, timeout)
        if workdir is None:
            print("(the outputs were in a temporary directory, now removed; "
                  "run with --workdir DIR to keep them)")
        return code


def _watch(cluster: LocalCluster, sources: list[Path], limit: int, timeout: float) -> int:
    api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
        str(cluster.kubeconfig))
    api: Any = client.CustomObjectsApi(api_client)
    api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL,
                                        course_manifest(sources))
    started, peak, shown = time.monotonic(), 0, ""
    while True:
        elapsed = time.monotonic() - started
        status = api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL,
                                                  COURSE).get("status") or {}
        peak = max(peak, int(status.get("running") or 0))
        table = render(status, elapsed, peak, limit)
        if _untimed(table) != _untimed(shown):
            print(table, flush=True)
            shown = table
        if status.get("phase") in ("Succeeded", "Failed"):
            return _verdict(status, peak, limit, cluster)
        if not any(proc.alive() for proc in cluster.controllers):
            print(f"the controller exited; see {cluster.controllers[0].log_path}", file=sys.stderr)
            return 1
        if elapsed > timeout:
            print(f"timed out after {timeout:g}s; controller log: "
                  f"{cluster.controllers[0].log_path}", file=sys.stderr)
            return 1
        time.sleep(0.25)


def _untimed(table: str) -> str:
    return table.split("]", 1)[-1]


def _verdict(status: dict[str, Any], peak: int, limit: int, cluster: LocalCluster) -> int:
    failed = [m for m in status.get("modules") or [] if m.get("phase") != "Succeeded"]
    if failed:
        for module in failed:
            print(f"module {module['name']} {module['phase']}: {module.get('message', '')}",
                  file=sys.stderr)
        return 1
    if peak > limit:
        print(f"per-user limit exceeded: {peak} > {limit}", file=sys.stderr)
        return 1
    output = cluster.workdir / "output"
    print(f"all {status.get('total')} modules Succeeded (never more than {peak} at once); "
          f"renditions and thumbnails in {output}")
    return 0
