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
