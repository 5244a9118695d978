"""The local pod runner: phases, exit codes, termination messages, deletion, deadlines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from controller.sandbox import memory

from .helpers import eventually, pod

pytestmark = pytest.mark.sandbox_only("runs pods as local processes (the pod runner)")


def read(core: client.CoreV1Api, ns: str, name: str) -> Any:
    return core.read_namespaced_pod(name, ns)


def wait_phase(core: client.CoreV1Api, ns: str, name: str, *phases: str) -> Any:
    return eventually(
        lambda: (p := read(core, ns, name)).status.phase in phases and p,
        timeout=15,
        what=f"pod {name} in {phases}",
    )


def terminated(p: Any) -> Any:
    return p.status.container_statuses[0].state.terminated


def python(code: str) -> tuple[str, ...]:
    return ("python", "-c", code)


WRITE_MESSAGE = (
    "import os; open(os.environ['TERMINATION_MESSAGE_PATH'], 'w').write('{\"ok\": true}')"
)


def test_success_with_termination_message(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("ok", *python(WRITE_MESSAGE)))
    done = wait_phase(core, ns, "ok", "Succeeded")
    state = terminated(done)
    assert (state.exit_code, state.reason, state.message) == (0, "Completed", '{"ok": true}')
    assert done.status.start_time and state.finished_at
    ready = {c.type: c.status for c in done.status.conditions}
    assert ready["Ready"] == "False" and ready["PodScheduled"] == "True"


def test_running_pod_status(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("run", "sleep", "30"))
    running = wait_phase(core, ns, "run", "Running")
    status = running.status.container_statuses[0]
    assert status.ready and status.state.running.started_at
    assert running.status.pod_ip == "127.0.0.1"
    core.delete_namespaced_pod("run", ns, grace_period_seconds=0)


def test_failure_falls_back_to_logs(core: client.CoreV1Api, ns: str) -> None:
    code = "import sys; print('line-1'); print('boom', file=sys.stderr); sys.exit(3)"
    body = pod(
        "bad", *python(code), container={"terminationMessagePolicy": "FallbackToLogsOnError"}
    )
    core.create_namespaced_pod(ns, body)
    state = terminated(wait_phase(core, ns, "bad", "Failed"))
    assert (state.exit_code, state.reason) == (3, "Error")
    assert "boom" in state.message and "line-1" in state.message
    assert "boom" in core.read_namespaced_pod_log("bad", ns)


def test_self_sigkill_reads_as_oom(core: client.CoreV1Api, ns: str) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    core.create_namespaced_pod(ns, pod("oom", *python(code)))
    state = terminated(wait_phase(core, ns, "oom", "Failed"))
    assert (state.exit_code, state.reason) == (137, "OOMKilled")


def test_missing_command_is_an_image_pull_error(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("pull", "no-such-command-xyz"))

    def reason() -> str | None:
        waiting = (read(core, ns, "pull").status.container_statuses or [None])[0]
        return waiting and waiting.state.waiting and waiting.state.waiting.reason

    eventually(lambda: reason() == "ImagePullBackOff", what="ImagePullBackOff")
    assert read(core, ns, "pull").status.phase == "Pending"
    core.delete_namespaced_pod("pull", ns)
    eventually(lambda: not exists(core, ns, "pull"))


def exists(core: client.CoreV1Api, ns: str, name: str) -> bool:
    try:
        read(core, ns, name)
    except ApiException as e:
        assert e.status == 404
        return False
    return True


def test_env_from_field_refs(core: client.CoreV1Api, ns: str) -> None:
    code = (
        "import os; open(os.environ['TERMINATION_MESSAGE_PATH'], 'w').write("
        "' '.join([os.environ['N'], os.environ['NS'], os.environ['L'], os.environ['V'],"
        " str(os.path.exists(os.environ['KUBECONFIG']))]))"
    )
    env = [
        {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "L", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "V", "value": "plain"},
    ]
    body = pod("env", *python(code), container={"env": env}, metadata={"labels": {"app": "w"}})
    core.create_namespaced_pod(ns, body)
    state = terminated(wait_phase(core, ns, "env", "Succeeded"))
    assert state.message == f"env {ns} w plain True"


def test_graceful_delete_sends_sigterm(core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    code = (
        "import os, signal, sys, time\n"
        "def bye(*_):\n"
        "    open(os.environ['MARK'], 'w').write('got SIGTERM'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = [{"name": "MARK", "value": str(mark)}]
    core.create_namespaced_pod(ns, pod("term", *python(code), container={"env": env}))
    wait_phase(core, ns, "term", "Running")  # logs of a waiting container are a 400, as real
    eventually(lambda: "ready" in core.read_namespaced_pod_log("term", ns), what="pod ready")
    deleting = core.delete_namespaced_pod("term", ns, grace_period_seconds=20)
    assert deleting.metadata.deletion_timestamp
    assert deleting.metadata.deletion_grace_period_seconds == 20
    eventually(lambda: not exists(core, ns, "term"), what="pod removed")
    assert mark.read_text() == "got SIGTERM"


def test_grace_period_escalates_to_sigkill(core: client.CoreV1Api, ns: str) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " print('ready', flush=True); time.sleep(60)"
    )
    core.create_namespaced_pod(ns, pod("stubborn", *python(code)))
    wait_phase(core, ns, "stubborn", "Running")
    # SIGTERM before the handler is installed would end the process at once.
    eventually(lambda: "ready" in core.read_namespaced_pod_log("stubborn", ns), what="ready")
    core.delete_namespaced_pod("stubborn", ns, grace_period_seconds=1)
    assert exists(core, ns, "stubborn")
    eventually(lambda: not exists(core, ns, "stubborn"), what="pod killed after grace")


def test_active_deadline(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("slow", "sleep", "60", activeDeadlineSeconds=1))
    failed = wait_phase(core, ns, "slow", "Failed")
    assert failed.status.reason == "DeadlineExceeded"
    assert failed.status.message == "Pod was active on the node longer than the specified deadline"


def test_finished_pod_is_deleted_at_once(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("done"))
    wait_phase(core, ns, "done", "Succeeded")
    core.delete_namespaced_pod("done", ns)
    assert not exists(core, ns, "done")


def test_memory_limit_kills_with_oom(core: client.CoreV1Api, ns: str) -> None:
    code = "import time; hog = b'x' * (256 * 1024 * 1024); time.sleep(60)"
    limits = {"resources": {"limits": {"memory": "64Mi"}}}
    core.create_namespaced_pod(ns, pod("hog", *python(code), container=limits))
    state = terminated(wait_phase(core, ns, "hog", "Failed"))
    assert (state.exit_code, state.reason) == (137, "OOMKilled")


def test_memory_under_the_limit_is_left_alone(core: client.CoreV1Api, ns: str) -> None:
    code = "data = b'x' * (16 * 1024 * 1024); print(len(data))"
    limits = {"resources": {"limits": {"memory": "500M"}}}
    core.create_namespaced_pod(ns, pod("fits", *python(code), container=limits))
    state = terminated(wait_phase(core, ns, "fits", "Succeeded"))
    assert (state.exit_code, state.reason) == (0, "Completed")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64Mi", 64 * 2**20),
        ("1Gi", 2**30),
        ("500M", 500_000_000),
        ("128974848", 128974848),
        ("1e3", 1000),
        ("1.5Ki", 1536),
        ("100m", 1),
    ],
)
def test_memory_quantities(text: str, expected: int) -> None:
    assert memory.parse_quantity(text) == expected


def test_malformed_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="quantities must match"):
        memory.parse_quantity("lots")
