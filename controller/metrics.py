"""Prometheus metrics (prefix course_controller_). No owner or course labels: unbounded."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

P = "course_controller_"

JOBS = Gauge(f"{P}jobs", "Live jobs by state (pending, claimed, running).", ["state"])
SLOTS_IN_USE = Gauge(f"{P}slots_in_use", "Jobs holding a slot (claimed or running).")
GLOBAL_LIMIT = Gauge(f"{P}global_limit", "The configured global limit of slots.")
OWNERS_AT_LIMIT = Gauge(f"{P}owners_at_limit", "Owners holding all their slots.")
MODULES_WITHOUT_JOB = Gauge(
    f"{P}modules_without_job", "Spec modules of live Courses that had no job at the last sweep.")
OLDEST_CLAIMABLE_AGE = Gauge(
    f"{P}oldest_claimable_job_age_seconds",
    "Age of the oldest pending job that is not suspended and not in backoff.")
CLAIMS = Counter(f"{P}claims_total", "Jobs claimed.")
COMPLETIONS = Counter(f"{P}completions_total", "Jobs that reached a terminal state.", ["result"])
RETRIES = Counter(f"{P}retries_total", "Failed attempts sent back to the queue.", ["reason"])
REPAIRS = Counter(f"{P}repairs_total", "Drift repaired by the sweep.", ["kind"])
QUEUE_WAIT = Histogram(
    f"{P}queue_wait_seconds", "From enqueue (or retry) to claim.",
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400))
RUN_DURATION = Histogram(
    f"{P}run_duration_seconds", "From pod start to the end of an attempt.",
    buckets=(1, 5, 15, 60, 300, 900, 3600, 14400))
SWEEP_DURATION = Histogram(
    f"{P}sweep_duration_seconds", "Duration of one sweep.",
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
SWEEP_ERRORS = Counter(f"{P}sweep_errors_total", "Sweeps that raised.")
LAST_SWEEP = Gauge(
    f"{P}last_successful_sweep_timestamp_seconds", "Unix time of the last successful sweep.")
RECONCILE_ERRORS = Counter(f"{P}reconcile_errors_total", "Course reconciles that raised.")
KUBE_ERRORS = Counter(
    f"{P}kubernetes_api_errors_total", "Failed Kubernetes API calls.", ["operation", "code"])
STATUS_PATCHES = Counter(f"{P}status_patches_total", "Course status patches sent.")
