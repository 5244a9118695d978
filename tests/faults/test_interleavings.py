"""Faults that need an exact interleaving, driven with a Sweeper in-process.

The sandbox API server and its pod runner are real; the Sweeper is the controller's own
class, stepped by the test so that a stale read or a held lock happens exactly where the
case says.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from controller.config import Settings, load_settings
from controller.db import CourseDefaults, Queue
from controller.db.migrate import upgrade
from controller.kube import Kube
from controller.localcluster import crd_path
from controller.model import JobState
from controller.reconcile import Reconciler
from controller.sandbox import Sandbox
from controller.sweep import Snapshot, Sweeper
from tests.e2e.harness import CourseBuilder, Courses, PodCreations, wait_for

pytestmark = pytest.mark.e2e


class Rig:
    """Sandbox + queue + the controller's parts, without kopf: the test is the loop."""

    def __init__(self, sandbox: Sandbox, database_url: str, **settings: Any) -> None:
        self.settings: Settings = load_settings(
            database_url=database_url, sweep_interval=0.2, lease_seconds=6,
            backoff_base=0.5, output_root=str(sandbox.workdir / "output"),
            metrics_port=0, health_port=0, **settings)
        self.queue = Queue.from_url(database_url, self.settings.statement_timeout_ms)
        upgrade(self.queue.engine)
        self.kube = Kube.from_environment(str(sandbox.kubeconfig_path))
        self.reconciler = Reconciler(self.queue, self.kube, CourseDefaults(3, 600))
        self.courses = Courses(self.kube.api_client)

    def sweeper(self) -> Sweeper:
        return Sweeper(self.queue, self.kube, self.settings)

    def close(self) -> None:
        self.queue.close()
        self.kube.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path / "sandbox", crd_paths=[crd_path()]) as box:
        yield box


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_6_stale_sweep_writes_after_the_pod_succeeded(
    sandbox: Sandbox, tmp_path: Path, videos: list[Path],
) -> None:
    rig = Rig(sandbox, f"sqlite:///{tmp_path / 'q.db'}")
    creations = PodCreations(rig.kube.api_client)
    creations.start()
    try:
        body = rig.courses.create(CourseBuilder(name="c6", sources=videos[:1]).obj())
        rig.reconciler.reconcile(body)
        sweeper = rig.sweeper()
        sweeper.run_once()  # claims and creates the pod
        wait_for(lambda: (j := rig.queue.live_jobs()) and j[0].state is JobState.RUNNING, 10,
                 "the job to run")
        stale: Snapshot = sweeper._read()  # the slow sweep reads: running, pod alive
        (job,) = stale.live_jobs
        wait_for(lambda: rig.kube.list_pods(["default"])[0]["status"]["phase"] == "Succeeded",
                 30, "the pod to succeed")
        rig.sweeper().run_once()  # another pass records the success
        assert rig.queue.get(job.id).state is JobState.SUCCEEDED  # type: ignore[union-attr]

        # The slow sweep now writes what it decided from its stale read ...
        later = replace(stale, now=stale.now + timedelta(hours=1))  # ... even "lease expired"
        for snap in (stale, later):
            slow = rig.sweeper()
            slow._read = lambda snap=snap: snap  # type: ignore[method-assign]
            slow.run_once()
        assert not rig.queue.mark_running(job, 6)
        assert not rig.queue.renew(job, 6)
        assert rig.queue.fail_attempt(job, "PodLost", "stale", _give_up()) is None
        final = rig.queue.get(job.id)
        assert final is not None and final.state is JobState.SUCCEEDED and final.attempt == 1
        assert creations.names == ["c6-lesson-1-1"], "no second pod"
    finally:
        creations.stop()
        rig.close()


def _give_up() -> Any:
    from controller.decisions import RetryDecision, RetryKind

    return RetryDecision(RetryKind.GIVE_UP)


class LoopThread(threading.Thread):
    """Sweeper.loop() on its own event loop, as the controller runs it."""

    def __init__(self, sweeper: Sweeper) -> None:
        super().__init__(daemon=True)
        self.sweeper = sweeper
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(self.sweeper.loop())
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass
        finally:
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(lambda: self.task and self.task.cancel())
        self.join(10)


def test_10_a_raising_sweep_then_a_lock_held_sweep_do_not_stop_the_loop(
    sandbox: Sandbox, postgres_url: str, videos: list[Path],
) -> None:
    rig = Rig(sandbox, postgres_url, statement_timeout_ms=500)
    sweeper = rig.sweeper()
    real_list: Callable[..., Any] = rig.kube.list_courses
    raised: list[bool] = []

    def list_courses_raising_once(namespaces: Any) -> Any:
        if not raised:
            raised.append(True)
            raise RuntimeError("injected: the API server hiccuped")
        return real_list(namespaces)

    rig.kube.list_courses = list_courses_raising_once  # type: ignore[method-assign]
    errors_before = metric("course_controller_sweep_errors_total")
    runner = LoopThread(sweeper)
    blocker = rig.queue.engine.connect()
    try:
        body = rig.courses.create(CourseBuilder(name="c10", sources=videos[:2]).obj())
        rig.reconciler.reconcile(body)
        runner.start()
        wait_for(lambda: raised and sweeper.last_success, 10, "a failed then a good sweep")
        transaction = blocker.begin()
        blocker.execute(text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))
        locked_at = time.time()
        wait_for(lambda: metric("course_controller_sweep_errors_total") >= errors_before + 2,
                 15, "sweeps failing on the held lock")
        assert (sweeper.last_success or 0) < locked_at, "no sweep succeeded under the lock"
        transaction.rollback()
        wait_for(lambda: (sweeper.last_success or 0) > locked_at, 15, "sweeps to recover")
        assert metric("course_controller_last_successful_sweep_timestamp_seconds") > locked_at
        status = rig.courses.wait_phase("c10", ("Succeeded", "Failed"), timeout=60)
        assert status["phase"] == "Succeeded"
    finally:
        blocker.close()
        runner.stop()
        rig.close()
