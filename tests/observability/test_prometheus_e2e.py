"""A real Prometheus scrapes the controller running against the sandbox.

One owner's Course of three ~4 s videos runs one module at a time (per-user limit 1) while
another owner's suspended Course keeps two modules queued. What Prometheus reports must agree
with what the Courses' status says, during the run and after it; the shipped rules load and
evaluate, and every dashboard query is valid PromQL against the real series.
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import config

from controller import alerts
from controller.localcluster import LocalCluster
from controller.pods import GROUP, PLURAL, VERSION
from controller.samples import make_sample_video
from tests.e2e.harness import CourseBuilder, Courses, wait_for

from .catalog import ROOT, documented, series_names
from .prometheus import Prometheus, free_port, get_json
from .test_dashboard import queries
from .tools import require

pytestmark = pytest.mark.e2e

BUSY_MODULES = 3
HELD_MODULES = 2


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    binary = require("prometheus")
    root = tmp_path_factory.mktemp("observability")
    videos = [make_sample_video(root / "uploads" / f"lesson-{i}.mp4", seconds=4.0,
                                label=f"lesson {i}") for i in range(1, BUSY_MODULES + 1)]
    ports = {"metrics_port": free_port(), "health_port": free_port()}
    settings = {**{k: str(v) for k, v in ports.items()}, "per_user_limit": "1"}
    with LocalCluster(root / "cluster", settings=settings) as cluster, Prometheus(
        binary, root / "prometheus", alerts.CONTROLLER_JOB,
        [f"127.0.0.1:{ports['metrics_port']}"], [ROOT / "alerts" / alerts.RULE_FILE],
    ) as prometheus:
        api = config.new_client_from_config(str(cluster.kubeconfig))  # type: ignore[no-untyped-call]
        try:
            yield {"cluster": cluster, "prometheus": prometheus, "courses": Courses(api),
                   "videos": videos, **ports}
        finally:
            api.close()


def _status_counts(courses: Courses) -> dict[str, int]:
    """Live jobs by state as the Courses' status shows them (Running = claimed or running)."""
    counts = {"pending": 0, "active": 0}
    listed: Any = courses.custom.list_namespaced_custom_object(
        GROUP, VERSION, courses.namespace, PLURAL)
    items: list[dict[str, Any]] = listed["items"]
    for item in items:
        for module in (item.get("status") or {}).get("modules") or []:
            if module["phase"] == "Queued":
                counts["pending"] += 1
            elif module["phase"] == "Running":
                counts["active"] += 1
    return counts


def _scraped_counts(prometheus: Prometheus) -> dict[str, int]:
    pending = prometheus.value('course_controller_jobs{state="pending"}')
    active = prometheus.value('sum(course_controller_jobs{state=~"claimed|running"})')
    return {"pending": int(pending or 0), "active": int(active or 0)}


def test_job_gauges_and_counters_match_the_courses_status(setup: dict[str, Any]) -> None:
    prometheus: Prometheus = setup["prometheus"]
    courses: Courses = setup["courses"]
    wait_for(lambda: prometheus.value(f'up{{job="{alerts.CONTROLLER_JOB}"}}') == 1, 20,
             "the first successful scrape")
    held = CourseBuilder(name="held", owner="user-2", sources=setup["videos"][:HELD_MODULES])
    held_body = held.obj()
    held_body["spec"]["suspend"] = True
    courses.create(held_body)
    courses.create(CourseBuilder(name="busy", owner="user-1", sources=setup["videos"]).obj())

    # During the run: one module of user-1 at a time, the rest queued; both sources agree.
    def mid_run() -> bool:
        scraped = _scraped_counts(prometheus)
        queued_behind = scraped["pending"] > HELD_MODULES and scraped["active"] == 1
        return queued_behind and scraped == _status_counts(courses)

    wait_for(mid_run, 30, "Prometheus and status to agree while busy runs with modules queued")
    assert prometheus.value("course_controller_owners_at_limit") == 1
    assert prometheus.value("course_controller_slots_in_use") == 1

    # After it: only the suspended Course's modules wait; every claim completed.
    status = courses.wait_phase("busy", ("Succeeded", "Failed"), timeout=40)
    assert status["phase"] == "Succeeded", status
    done = {"pending": HELD_MODULES, "active": 0}
    wait_for(lambda: _scraped_counts(prometheus) == done == _status_counts(courses), 15,
             f"Prometheus and status to both show {done}")
    wait_for(lambda: prometheus.value(
        'course_controller_completions_total{result="succeeded"}') == BUSY_MODULES, 10,
        "the completions counter to reach the number of modules")
    assert prometheus.value("course_controller_claims_total") == BUSY_MODULES
    assert prometheus.value('course_controller_completions_total{result="failed"}') == 0
    assert prometheus.value("course_controller_owners_at_limit") == 0
    assert prometheus.value("course_controller_global_limit") == 100
    assert prometheus.value("course_controller_queue_wait_seconds_count") == BUSY_MODULES
    assert prometheus.value("course_controller_run_duration_seconds_count") == BUSY_MODULES
    age = prometheus.value("time() - course_controller_last_successful_sweep_timestamp_seconds")
    assert age is not None and 0 <= age < 10


def test_every_scraped_metric_is_documented_and_every_query_is_valid(
    setup: dict[str, Any],
) -> None:
    prometheus: Prometheus = setup["prometheus"]
    wait_for(lambda: prometheus.value(f'up{{job="{alerts.CONTROLLER_JOB}"}}') == 1, 20,
             "the first successful scrape")
    names = set(prometheus.api("label/__name__/values"))
    scraped = {name for name in names if name.startswith("course_controller_")}
    known = series_names(documented()) | {
        f"{name[:-len('_total')]}_created" for name in documented() if name.endswith("_total")
    } | {f"{name}_created" for name, m in documented().items() if m.type == "histogram"}
    assert scraped - known == set()
    gauges = {name for name, metric in documented().items() if metric.type == "gauge"}
    assert gauges <= scraped
    for title, expr in queries():
        prometheus.api("query", query=expr.replace("$__rate_interval", "1m"))  # fails if invalid
        assert title


def test_the_shipped_rules_load_and_evaluate_and_none_fires(setup: dict[str, Any]) -> None:
    prometheus: Prometheus = setup["prometheus"]

    def evaluated() -> list[dict[str, Any]] | None:
        groups = prometheus.api("rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if rules and all(rule["lastEvaluation"] > "2000" for rule in rules):
            return rules
        return None

    rules = wait_for(evaluated, 15, "the rules to be evaluated")
    assert rules is not None
    assert {rule["name"] for rule in rules} == {alert.name for alert in alerts.ALERTS}
    for rule in rules:
        assert rule["health"] == "ok", rule
    firing = prometheus.query('ALERTS{alertstate="firing"}')
    assert firing == {}


def test_the_liveness_endpoint_reports_the_sweep(setup: dict[str, Any]) -> None:
    url = f"http://127.0.0.1:{setup['health_port']}/healthz"

    def probe() -> dict[str, Any] | None:
        try:
            body: dict[str, Any] = get_json(url, timeout=2)
        except (urllib.error.URLError, ConnectionError):
            return None
        age = (body.get("sweep") or {}).get("lastSweepAgeSeconds")
        return body if age is not None else None

    started = time.monotonic()
    body = wait_for(probe, 20, "/healthz to report a recent sweep", every=0.5)
    assert body is not None
    assert 0 <= body["sweep"]["lastSweepAgeSeconds"] < 10 + (time.monotonic() - started)
