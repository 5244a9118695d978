"""A whole local installation: the sandbox API server, the queue, and the controller process.

Shared by ``course-controller sandbox``, ``course-controller demo`` and the integration
tests, so that what a newcomer runs is what the tests exercise. The controller runs as a
separate process (``course-controller run``): it can be killed and restarted like a pod.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import IO, Any

from controller.db import Queue
from controller.db.migrate import upgrade
from controller.sandbox import Sandbox

# Sandbox defaults: quick sweeps and leases so that repairs show within seconds.
SANDBOX_SETTINGS = {
    "sweep_interval": "1",
    "lease_seconds": "6",
    "backoff_base": "1",
    "backoff_max": "10",
    "pod_pending_timeout": "60",
    "job_timeout": "600",
    "metrics_port": "0",
    "health_port": "0",
}


SAMPLES_DIR = Path("/tmp/course-samples")
"""Where ``course-controller sandbox`` puts sample uploads; examples/course.yaml names them."""


def ensure_samples(directory: Path, count: int = 6) -> list[Path]:
    """Make ``lesson-N.mp4`` sample uploads that do not exist yet (atomically: a reader
    never sees half a file)."""
    from controller.samples import make_sample_video

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(1, count + 1):
        path = directory / f"lesson-{index}.mp4"
        if not path.exists():
            partial = directory / f".lesson-{index}.{os.getpid()}.mp4"
            make_sample_video(partial, seconds=2.0, label=f"lesson {index}")
            partial.replace(path)
        paths.append(path)
    return paths


def crd_path() -> Path:
    return Path(str(resources.files("controller") / "crds" / "course.yaml"))


def default_database_url(workdir: Path) -> str:
    return f"sqlite:///{(workdir / 'queue.db').resolve()}"


def migrate(database_url: str) -> str:
    queue = Queue.from_url(database_url)
    try:
        return upgrade(queue.engine)
    finally:
        queue.close()


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when the sandbox process dies, however it dies,
    so a killed sandbox never leaves a controller behind working on its queue."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ControllerProcess:
    """``course-controller run`` as a child process, pointed at a kubeconfig."""

    def __init__(self, kubeconfig: Path, database_url: str, workdir: Path,
                 settings: dict[str, Any] | None = None, log_name: str = "controller.log",
                 echo: bool = False, entry: Sequence[str] = ("-m", "controller.cli"),
                 extra_env: dict[str, str] | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.database_url = database_url
        self.workdir = workdir
        self.settings = {**SANDBOX_SETTINGS, "output_root": str(workdir / "output"),
                         **(settings or {})}
        self.log_path = workdir / log_name
        self.echo = echo
        self.entry = list(entry)
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
        env.update({f"COURSE_{k.upper()}": str(v) for k, v in self.settings.items()})
        env["COURSE_DATABASE_URL"] = self.database_url
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PYTHONUNBUFFERED"] = "1"
        return {**env, **self.extra_env}

    def start(self) -> None:
        self._log = None if self.echo else open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, *self.entry, "run", "--kubeconfig", str(self.kubeconfig)],
            env=self.env(), stdout=self._log, stderr=subprocess.STDOUT if self._log else None,
            start_new_session=True, preexec_fn=_die_with_parent,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash at any line would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None


class LocalCluster:
    """Sandbox + migrated queue + (optionally) one controller process."""

    def __init__(self, workdir: Path, *, port: int = 0, kubeconfig_path: Path | None = None,
                 database_url: str | None = None, controller: bool = True,
                 settings: dict[str, Any] | None = None, echo_controller: bool = False) -> None:
        self.workdir = workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or default_database_url(self.workdir)
        self.sandbox = Sandbox(self.workdir, port=port, kubeconfig_path=kubeconfig_path,
                               crd_paths=[crd_path()])
        self.with_controller = controller
        self.settings = settings or {}
        self.echo_controller = echo_controller
        self.controllers: list[ControllerProcess] = []

    @property
    def kubeconfig(self) -> Path:
        return self.sandbox.kubeconfig_path

    @property
    def controller_kubeconfig(self) -> Path:
        """The controller's own credentials (token ``controller``), so that the sandbox's
        audit record tells its requests apart from the tests' and kubectl's."""
        return self.workdir / "kubeconfig-controller"

    def start(self) -> LocalCluster:
        from controller.sandbox import kubeconfig

        migrate(self.database_url)
        self.sandbox.start()
        kubeconfig.write(self.controller_kubeconfig, self.sandbox.url, token="controller")
        if self.with_controller:
            self.start_controller()
        return self

    def run_command(self) -> str:
        """The command that runs a controller like the sandbox's own (for --no-controller)."""
        proc = ControllerProcess(self.controller_kubeconfig, self.database_url, self.workdir,
                                 self.settings)
        flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in proc.settings.items())
        return (f"course-controller run --kubeconfig {self.controller_kubeconfig} "
                f"--database-url {self.database_url} {flags}")

    def start_controller(self, entry: Sequence[str] = ("-m", "controller.cli"),
                         extra_env: dict[str, str] | None = None,
                         **settings: Any) -> ControllerProcess:
        """Start one more controller process (tests may pass a wrapping ``entry``)."""
        index = len(self.controllers)
        proc = ControllerProcess(
            self.controller_kubeconfig, self.database_url, self.workdir,
            {**self.settings, **settings},
            log_name=f"controller-{index}.log", echo=self.echo_controller, entry=entry,
            extra_env=extra_env)
        proc.start()
        self.controllers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.controllers:
            proc.stop()
        self.sandbox.stop()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def wait_forever() -> None:
    """Block until SIGINT/SIGTERM (the sandbox command's foreground)."""
    stop = {"now": False}

    def _handler(*_: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)  # also when started in the background
    while not stop["now"]:
        time.sleep(0.2)
