"""The kubelet stand-in: runs each pod's container command as a local process.

It works on the store directly (same loop), watching pod changes like a kubelet watches its
node's pods. A command that cannot be found on PATH stands for an image that cannot be
pulled: the pod stays Pending with ErrImagePull / ImagePullBackOff.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.sandbox import memory, podstatus
from controller.sandbox.cluster import PODS, Cluster
from controller.sandbox.store import Change

JSON = dict[str, Any]
PULL_BACKOFF_AFTER = 1.0
# How often a container with a memory limit has its resident set sampled (seconds).
MEMORY_SAMPLE_EVERY = 0.1
logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Running:
    """One pod's process and what the runner did to it."""

    uid: str
    process: asyncio.subprocess.Process
    workdir: Path
    started_at: str
    killed_by_runner: bool = False
    deadline_exceeded: bool = False
    oom_killed: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class PodRunner:
    def __init__(self, cluster: Cluster, workdir: Path, kubeconfig_path: Path) -> None:
        self.cluster = cluster
        self.workdir = workdir
        self.kubeconfig_path = kubeconfig_path
        self._running: dict[tuple[str, str], Running] = {}
        self._seen: set[str] = set()
        self._logs: dict[tuple[str, str], Path] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._main: asyncio.Task[None] | None = None

    # ---- the PodRuntime protocol and log lookup ------------------------------------------

    def is_running(self, namespace: str, name: str) -> bool:
        return (namespace, name) in self._running

    def log_path(self, namespace: str, name: str) -> Path | None:
        return self._logs.get((namespace, name))

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        sub = self.cluster.store.subscribe(PODS)
        for pod in self.cluster.store.list(PODS):
            sub.queue.put_nowait(Change(0, "ADDED", PODS, pod, None))

        async def loop() -> None:
            try:
                while True:
                    self._on_change(await sub.queue.get())
            finally:
                self.cluster.store.unsubscribe(sub)

        self._main = asyncio.get_running_loop().create_task(loop())

    async def stop(self) -> None:
        if self._main is not None:
            self._main.cancel()
        for running in list(self._running.values()):
            self._signal(running, signal.SIGKILL)
        for task in list(self._tasks):
            task.cancel()
        for running in list(self._running.values()):
            with contextlib.suppress(TimeoutError, ProcessLookupError):
                await asyncio.wait_for(running.process.wait(), timeout=5)
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- reacting to pod changes ---------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        pod = change.obj
        meta = pod["metadata"]
        ident = (meta.get("namespace", ""), meta["name"])
        running = self._running.get(ident)
        if change.type == "DELETED":
            if running is not None and running.uid == meta["uid"]:
                self._kill(running, grace=0)
            return
        if meta.get("deletionTimestamp"):
            if running is not None and running.uid == meta["uid"]:
                self._kill(running, int(meta.get("deletionGracePeriodSeconds", 0)))
            else:
                self.cluster.finish_pod(*ident)
            return
        if meta["uid"] not in self._seen and pod.get("status", {}).get("phase") in (
            None,
            "Pending",
        ):
            self._seen.add(meta["uid"])
            self._spawn(self._run(pod))

    def _signal(self, running: Running, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(running.process.pid, sig)

    def _kill(self, running: Running, grace: int) -> None:
        """SIGTERM now, SIGKILL after the grace period (at once when it is 0)."""
        if running.killed_by_runner and grace > 0:
            return
        running.killed_by_runner = True
        if grace <= 0:
            self._signal(running, signal.SIGKILL)
            return
        self._signal(running, signal.SIGTERM)

        async def escalate() -> None:
            await asyncio.sleep(grace)
            self._signal(running, signal.SIGKILL)

        self._spawn(escalate())

    # ---- running one pod -----------------------------------------------------------------

    async def _run(self, pod: JSON) -> None:
        container = pod["spec"]["containers"][0]
        self._set_status(pod, lambda s: self._pending(pod, s, "ContainerCreating", ""))
        argv = resolve_command(container)
        if argv is None:
            await self._pull_failure(pod, container)
            return
        try:
            running = await self._start(pod, container, argv)
        except OSError as e:
            message = f"failed to start container: {e}"
            self._set_status(pod, lambda s: self._pending(pod, s, "RunContainerError", message))
            return
        await self._supervise(pod, container, running)

    def _pending(self, pod: JSON, status: JSON, reason: str, message: str) -> None:
        now = self.cluster.now()
        container = pod["spec"]["containers"][0]
        waiting: JSON = {"reason": reason}
        if message:
            waiting["message"] = message
        status.update(
            {
                "phase": "Pending",
                "hostIP": "127.0.0.1",
                "hostIPs": [{"ip": "127.0.0.1"}],
                "conditions": podstatus.conditions(now, ready=False),
                "containerStatuses": [podstatus.container_status(container, {"waiting": waiting})],
            }
        )
        status.setdefault("startTime", now)

    async def _pull_failure(self, pod: JSON, container: JSON) -> None:
        image = container.get("image", "")
        command = (container.get("command") or container.get("args") or [image])[0]
        pull = (
            f'failed to pull and unpack image "{image}": command "{command}" not found'
            " on PATH of the sandbox"
        )
        self._set_status(pod, lambda s: self._pending(pod, s, "ErrImagePull", pull))
        await asyncio.sleep(PULL_BACKOFF_AFTER)
        backoff = f'Back-off pulling image "{image}"'
        self._set_status(pod, lambda s: self._pending(pod, s, "ImagePullBackOff", backoff))

    async def _start(self, pod: JSON, container: JSON, argv: list[str]) -> Running:
        meta = pod["metadata"]
        workdir = self.workdir / meta.get("namespace", "") / f"{meta['name']}-{meta['uid'][:8]}"
        (workdir / "work").mkdir(parents=True, exist_ok=True)
        log_path = workdir / "log"
        env = self._environment(pod, container, workdir)
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                cwd=workdir / "work",
                env=env,
                start_new_session=True,
            )
        ident = (meta.get("namespace", ""), meta["name"])
        self._logs[ident] = log_path
        running = Running(meta["uid"], process, workdir, self.cluster.now())
        self._running[ident] = running
        return running

    def _environment(self, pod: JSON, container: JSON, workdir: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = search_path()
        for item in container.get("env") or []:
            env[item["name"]] = self._env_value(pod, item)
        env["KUBECONFIG"] = str(self._pod_kubeconfig(pod, workdir))
        env["TERMINATION_MESSAGE_PATH"] = str(workdir / "termination-log")
        env["HOSTNAME"] = pod["metadata"]["name"]
        return env

    def _pod_kubeconfig(self, pod: JSON, workdir: Path) -> Path:
        """The pod's stand-in for its mounted service-account token: the sandbox kubeconfig
        with the token ``system:serviceaccount:<ns>:<sa>``, so the audit record shows what
        each service account asked for (as RBAC would see it)."""
        namespace = pod["metadata"].get("namespace", "")
        account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        config = yaml.safe_load(self.kubeconfig_path.read_text())
        for user in config.get("users") or []:
            user["user"] = {"token": f"system:serviceaccount:{namespace}:{account}"}
        path = workdir / "kubeconfig"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def _env_value(self, pod: JSON, item: JSON) -> str:
        if "value" in item:
            return str(item["value"])
        source = item.get("valueFrom") or {}
        if "fieldRef" in source:
            return podstatus.field_ref(pod, source["fieldRef"].get("fieldPath", ""))
        namespace = pod["metadata"].get("namespace", "")
        for kind, plural in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
            ref = source.get(kind)
            if ref:
                obj = self.cluster.store.get(("", plural), namespace, ref.get("name", "")) or {}
                value = str((obj.get("data") or {}).get(ref.get("key"), ""))
                return base64.b64decode(value).decode() if plural == "secrets" else value
        return ""

    async def _supervise(self, pod: JSON, container: JSON, running: Running) -> None:
        self._set_status(pod, lambda s: self._running_status(pod, container, running, s))
        if not self._still_exists(pod):
            self._kill(running, grace=0)
        deadline = pod["spec"].get("activeDeadlineSeconds")
        if deadline is not None:
            self._spawn(self._enforce_deadline(pod, running, int(deadline)))
        limit = _memory_limit(container)
        if limit is not None:
            self._spawn(self._enforce_memory(running, limit))
        returncode = await running.process.wait()
        self._finish(pod, container, running, returncode)

    def _running_status(self, pod: JSON, container: JSON, running: Running, status: JSON) -> None:
        now = running.started_at
        state = {"running": {"startedAt": now}}
        status.update(
            {
                "phase": "Running",
                "podIP": "127.0.0.1",
                "podIPs": [{"ip": "127.0.0.1"}],
                "conditions": podstatus.conditions(now, ready=True),
                "containerStatuses": [
                    podstatus.container_status(
                        container, state, ready=True, pid=running.process.pid
                    )
                ],
            }
        )
        status.setdefault("startTime", now)

    async def _enforce_deadline(self, pod: JSON, running: Running, seconds: int) -> None:
        await asyncio.sleep(seconds)
        if running.process.returncode is None:
            running.deadline_exceeded = True
            self._kill(running, int(pod["spec"].get("terminationGracePeriodSeconds", 30)))

    async def _enforce_memory(self, running: Running, limit: int) -> None:
        """The OOM killer at the container's limit: SIGKILL the whole process group."""
        while running.process.returncode is None:
            if memory.group_rss(running.process.pid) > limit:
                running.oom_killed = True
                running.killed_by_runner = True
                self._signal(running, signal.SIGKILL)
                return
            await asyncio.sleep(MEMORY_SAMPLE_EVERY)

    def _finish(self, pod: JSON, container: JSON, running: Running, returncode: int) -> None:
        meta = pod["metadata"]
        ident = (meta.get("namespace", ""), meta["name"])
        if self._running.get(ident) is running:
            del self._running[ident]
        code = podstatus.exit_code(returncode)
        message = podstatus.termination_message(
            _read(running.workdir / "termination-log"),
            _read(running.workdir / "log"),
            container.get("terminationMessagePolicy", "File"),
            code,
        )
        terminated: JSON = {
            "exitCode": code,
            "reason": podstatus.exit_reason(code, running.killed_by_runner, running.oom_killed),
            "startedAt": running.started_at,
            "finishedAt": self.cluster.now(),
            "containerID": f"sandbox://{running.process.pid}",
        }
        if message:
            terminated["message"] = message
        phase = "Succeeded" if code == 0 and not running.deadline_exceeded else "Failed"

        def mutate(status: JSON) -> None:
            status["phase"] = phase
            status["conditions"] = podstatus.conditions(self.cluster.now(), False, True, phase)
            status["containerStatuses"] = [
                podstatus.container_status(
                    container, {"terminated": terminated}, pid=running.process.pid
                )
            ]
            if running.deadline_exceeded:
                status["reason"] = "DeadlineExceeded"
                status["message"] = podstatus.DEADLINE_MESSAGE

        self._set_status(pod, mutate)
        self.cluster.finish_pod(*ident)

    def _still_exists(self, pod: JSON) -> bool:
        meta = pod["metadata"]
        current = self.cluster.store.get(PODS, meta.get("namespace", ""), meta["name"])
        return current is not None and current["metadata"]["uid"] == meta["uid"]

    def _set_status(self, pod: JSON, mutate: Any) -> None:
        def apply(obj: JSON) -> None:
            mutate(obj.setdefault("status", {}))
            obj["spec"]["nodeName"] = "sandbox"

        self.cluster.write_status(PODS, pod, apply)


def search_path() -> str:
    """PATH with the interpreter's directory first, so the venv's console scripts are found."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def unpullable(image: str) -> bool:
    """An image whose registry is under the reserved ``.invalid`` TLD (RFC 2606) can never be
    pulled: a Course can ask for one to exercise image-pull failures."""
    registry = image.split("/", 1)[0] if "/" in image else ""
    return registry.split(":", 1)[0].endswith(".invalid")


def resolve_command(container: JSON) -> list[str] | None:
    """argv for the container, or None if its image cannot be "pulled": its command is not
    installed, or its registry is ``*.invalid``. Without ``command`` the image name stands
    for the entrypoint."""
    if unpullable(str(container.get("image", ""))):
        return None
    command = list(container.get("command") or [])
    args = [str(a) for a in container.get("args") or []]
    if not command:
        command = [str(container.get("image", "")).split("/")[-1].split(":")[0]]
    found = shutil.which(command[0], path=search_path())
    if found is None:
        return None
    return [found, *command[1:], *args]


def _memory_limit(container: JSON) -> int | None:
    try:
        return memory.memory_limit(container)
    except ValueError:
        logger.warning("event=ignored-memory-limit container=%s", container.get("name"))
        return None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
