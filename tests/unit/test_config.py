"""Settings: every knob from COURSE_* or flags; bad values stop start-up naming the setting."""

from __future__ import annotations

import pytest

from controller.config import ConfigError, load_settings


def test_defaults_are_safe() -> None:
    settings = load_settings()
    assert settings.per_user_limit == 3
    assert settings.database_url.startswith("sqlite:///")
    assert settings.lease_seconds >= 3 * settings.sweep_interval
    assert settings.namespaces == ["default"] and not settings.all_namespaces


def test_environment_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_PER_USER_LIMITS", "vip=10, small=1")
    monkeypatch.setenv("COURSE_NAMESPACES", "team-a,team-b")
    monkeypatch.setenv("COURSE_GLOBAL_LIMIT", "50")
    settings = load_settings(global_limit=7)
    assert settings.global_limit == 7, "a flag beats the environment"
    assert settings.limit_for("vip") == 10 and settings.limit_for("anyone") == 3
    assert settings.namespaces == ["team-a", "team-b"]


@pytest.mark.parametrize(("overrides", "named"), [
    ({"global_limit": 0}, "COURSE_GLOBAL_LIMIT"),
    ({"per_user_limit": -1}, "COURSE_PER_USER_LIMIT"),
    ({"per_user_limits": "alice=x"}, "COURSE_PER_USER_LIMITS"),
    ({"per_user_limits": "alice=0"}, "COURSE_PER_USER_LIMITS"),
    ({"sweep_interval": 10, "lease_seconds": 20}, "COURSE_LEASE_SECONDS"),
    ({"metrics_port": 70000}, "COURSE_METRICS_PORT"),
    ({"log_format": "xml"}, "COURSE_LOG_FORMAT"),
    ({"namespaces": ""}, "COURSE_NAMESPACES"),
])
def test_invalid_values_name_the_setting(overrides: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as caught:
        load_settings(**overrides)
    assert str(caught.value).startswith("invalid configuration: ")


def test_a_renewal_period_not_well_inside_the_lease_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 3x COURSE_SWEEP_INTERVAL"):
        load_settings(sweep_interval=5, lease_seconds=14)
    assert load_settings(sweep_interval=5, lease_seconds=15).lease_seconds == 15
