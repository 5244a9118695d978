"""Prometheus metrics (prefix course_controller_), documented one by one in docs/metrics.md.

No owner, course or module labels: their number is unbounded, and a scrape must stay small
however many users there are. Per-owner questions are answered by Course status instead.

Label values that are known up front are created at import, so their series exist (at 0)
from the first scrape: ``rate()`` and the alert rules then see a counter start at 0 instead
of appearing at its first increment, which ``rate()`` would not count.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

P = "course_controller_"

JOB_STATES = ("pending", "claimed", "running")
"""The live states of a queue row; one ``course_controller_jobs`` series each."""

COMPLETION_RESULTS = ("succeeded", "failed", "cancelled")
"""The terminal states of a queue row: the ``result`` label of completions."""

REPAIR_KINDS = ("missing_job", "orphan_job", "claimed_without_pod", "lost_pod")
"""Drift the sweep repairs: the ``kind`` label of repairs (DESIGN section 4)."""

JOBS = Gauge(f"{P}jobs", "Live jobs by state (pending, claimed, running).", ["state"])
SLOTS_IN_USE = Gauge(f"{P}slots_in_use", "Jobs holding a slot (claimed or running).")
GLOBAL_LIMIT = Gauge(f"{P}global_limit", "The configured global limit of slots.")
OWNERS_AT_LIMIT = Gauge(f"{P}owners_at_limit", "Owners holding all their slots.")
MODULES_WITHOUT_JOB = Gauge(
    f"{P}modules_without_job", "Spec modules of live Courses that had no job at the last sweep.")
OLDEST_CLAIMABLE_AGE = Gauge(
    f"{P}oldest_claimable_job_age_seconds",
    "Seconds the oldest claimable job has waited after the last claim pass: pending, not "
    "suspended, not in backoff, and its owner below their limit (0 when there is none).")
CLAIMS = Counter(f"{P}claims_total", "Jobs claimed.")
COMPLETIONS = Counter(f"{P}completions_total", "Jobs that reached a terminal state.", ["result"])
RETRIES = Counter(f"{P}retries_total", "Failed attempts sent back to the queue.", ["reason"])
REPAIRS = Counter(f"{P}repairs_total", "Drift repaired by the sweep.", ["kind"])
QUEUE_WAIT = Histogram(
    f"{P}queue_wait_seconds", "From enqueue to claim (a retry counts from its first enqueue).",
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

for _state in JOB_STATES:
    JOBS.labels(state=_state)
for _result in COMPLETION_RESULTS:
    COMPLETIONS.labels(result=_result)
for _kind in REPAIR_KINDS:
    REPAIRS.labels(kind=_kind)
