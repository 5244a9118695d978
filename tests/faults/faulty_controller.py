"""`course-controller` with one fault injected, for the fault-injection suite.

The fault is chosen by $FAULT_INJECTION (JSON). Faults are patched in here, in the test tree,
so production code carries no test hooks; everything else is the real controller process.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from controller import cli
from controller.db.queue import Queue
from controller.kube import Kube
from controller.model import Job


def _kill_before_creating_pod_of(module: str) -> None:
    """SIGKILL the controller right after the claim of ``module``, before its pod exists."""
    original = Kube.create_pod

    def create_pod(self: Kube, manifest: dict[str, Any]) -> bool:
        if manifest["metadata"]["labels"]["learning.dev/module"] == module:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, manifest)

    Kube.create_pod = create_pod  # type: ignore[method-assign]


def _raise_after_succeeding(module: str) -> None:
    """The completion handling of ``module`` raises once, after the job is marked succeeded."""
    original = Queue.succeed
    fired: list[bool] = []

    def succeed(self: Queue, job: Job, result: dict[str, Any] | None) -> bool:
        done = original(self, job, result)
        if done and job.module == module and not fired:
            fired.append(True)
            raise RuntimeError(f"injected fault after {module} succeeded")
        return done

    Queue.succeed = succeed  # type: ignore[method-assign]


FAULTS = {
    "kill_before_create_pod": _kill_before_creating_pod_of,
    "raise_after_succeed": _raise_after_succeeding,
}


def main() -> None:
    fault = json.loads(os.environ.get("FAULT_INJECTION") or "{}")
    if fault:
        FAULTS[fault["kind"]](fault["module"])
    sys.argv[0] = "course-controller"
    cli.main()


if __name__ == "__main__":
    main()
