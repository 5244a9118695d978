"""Pure functions that shape a pod's status the way a kubelet reports it."""

from __future__ import annotations

import signal
from typing import Any

JSON = dict[str, Any]
CONDITION_TYPES = (
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
)
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
MESSAGE_LIMIT = 4096
FALLBACK_LINES = 80
FALLBACK_BYTES = 2048


def conditions(now: str, ready: bool, scheduled: bool = True, phase: str = "") -> list[JSON]:
    result = []
    for kind in CONDITION_TYPES:
        status = ready if kind in ("Ready", "ContainersReady") else scheduled
        cond: JSON = {
            "type": kind,
            "status": "True" if status else "False",
            "lastProbeTime": None,
            "lastTransitionTime": now,
        }
        if not status and kind in ("Ready", "ContainersReady"):
            cond["reason"] = {"Succeeded": "PodCompleted", "Failed": "PodFailed"}.get(
                phase, "ContainersNotReady"
            )
        result.append(cond)
    return result


def container_status(container: JSON, state: JSON, ready: bool = False, pid: int = 0) -> JSON:
    status: JSON = {
        "name": container.get("name", ""),
        "image": container.get("image", ""),
        "imageID": "",
        "ready": ready,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
    }
    if pid:
        status["containerID"] = f"sandbox://{pid}"
        status["imageID"] = f"sandbox://{container.get('image', '')}"
    return status


def exit_code(returncode: int) -> int:
    """A shell-style exit code: killed by signal N -> 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def exit_reason(code: int, killed_by_runner: bool, oom_killed: bool = False) -> str:
    """``OOMKilled`` for a container killed at its memory limit. A SIGKILL from outside the
    runner also reads as one: the kernel's OOM killer is the usual sender on a real node,
    and tests simulate it that way where no limit is set."""
    if oom_killed:
        return "OOMKilled"
    if code == 0:
        return "Completed"
    if code == 128 + signal.SIGKILL and not killed_by_runner:
        return "OOMKilled"
    return "Error"


def termination_message(file_text: bytes, log_text: bytes, policy: str, code: int) -> str:
    """The termination file, or with FallbackToLogsOnError the tail of a failed container's
    output when the file is empty."""
    message = file_text[:MESSAGE_LIMIT]
    if not message.strip() and policy == "FallbackToLogsOnError" and code != 0:
        lines = log_text.splitlines(keepends=True)[-FALLBACK_LINES:]
        message = b"".join(lines)[-FALLBACK_BYTES:]
    return message.decode(errors="replace")


def field_ref(pod: JSON, path: str) -> str:
    """The value of an env ``valueFrom.fieldRef.fieldPath``."""
    meta, status, spec = pod["metadata"], pod.get("status") or {}, pod.get("spec") or {}
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((meta.get(source) or {}).get(path[len(prefix) + 2 : -2], ""))
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "status.podIP": status.get("podIP", "127.0.0.1"),
        "status.hostIP": status.get("hostIP", "127.0.0.1"),
        "spec.nodeName": spec.get("nodeName", "sandbox"),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
    }
    value = simple.get(path)
    return "" if value is None else str(value)
