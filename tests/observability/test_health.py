"""The liveness probe (kopf's /healthz runs App.healthy) fails once the sweep has stopped."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import kopf
import pytest

from controller.app import App


def _app(last_success: float | None, sweep_interval: float = 5.0) -> App:
    fake: Any = SimpleNamespace
    return App(settings=fake(sweep_interval=sweep_interval), queue=fake(), kube=fake(),
               sweeper=fake(last_success=last_success), reconciler=fake())


def test_a_recent_sweep_is_healthy_and_reports_its_age() -> None:
    report = _app(time.time() - 3).healthy()
    assert report["lastSweepAgeSeconds"] == pytest.approx(3, abs=1)


def test_a_sweep_older_than_ten_intervals_fails_the_probe() -> None:
    with pytest.raises(kopf.PermanentError, match="last successful sweep"):
        _app(time.time() - 101, sweep_interval=10).healthy()


def test_short_intervals_still_get_a_minute() -> None:
    """A slow pass on a busy database must not get a healthy controller restarted."""
    assert _app(time.time() - 50, sweep_interval=1).healthy()["lastSweepAgeSeconds"] > 49
    with pytest.raises(kopf.PermanentError):
        _app(time.time() - 61, sweep_interval=1).healthy()


def test_a_loop_that_never_succeeded_fails_once_the_allowance_since_start_is_over() -> None:
    app = _app(None, sweep_interval=1)
    assert app.healthy()["lastSweepAgeSeconds"] < 5
    app.started = time.time() - 61
    with pytest.raises(kopf.PermanentError, match="last successful sweep"):
        app.healthy()


def test_a_finished_sweep_task_fails_the_probe_at_once() -> None:
    app = _app(time.time())
    app.tasks.append(SimpleNamespace(done=lambda: True))  # type: ignore[arg-type]
    with pytest.raises(kopf.PermanentError, match="sweep loop has stopped"):
        app.healthy()
