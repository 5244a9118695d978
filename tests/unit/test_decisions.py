"""The controller's decisions as pure functions: claims, retries, pod fates, status."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.decisions import (
    NOT_RETRIED,
    Candidate,
    Fate,
    Limits,
    RetryKind,
    Timeouts,
    Verdict,
    backoff_delay,
    decide_retry,
    failed_event,
    failure_message,
    judge,
    plan_claims,
    project_status,
    set_condition,
    spec_drifted,
)
from controller.model import CourseSpec, Job, JobState, SlotUsage
from controller.pods import (
    LABEL_ATTEMPT,
    LABEL_JOB,
    PROGRESS_ANNOTATION,
    PodView,
    parse_result,
    view_pod,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
TIMEOUTS = Timeouts(pod_pending=300, job=3600)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- builders


def make_job(state: JobState = JobState.RUNNING, **changes: Any) -> Job:
    """A slot-holding job of attempt 1 with a valid lease, unless the test says otherwise."""
    job = Job(
        id=1, course_uid="uid-c", namespace="default", course_name="c", module="m1",
        owner="u1", source="https://files.example.com/m1.mp4", state=state, attempt=1,
        max_attempts=3, pod_name="c-m1-1", lease_expires_at=NOW + timedelta(seconds=60),
        created_at=ago(600), claimed_at=ago(120),
        started_at=ago(100) if state is JobState.RUNNING else None,
    )
    return replace(job, **changes)


def make_pod(
    phase: str = "Running", *, created: datetime | None = None,
    started: datetime | None = None, progress: int | None = None, deleting: bool = False,
    waiting: str | None = None, exit_code: int | None = None,
    terminated_reason: str | None = None, message: str | None = None,
    status_reason: str | None = None,
) -> PodView:
    """A pod as the API returns it (a dict), read through view_pod like the sweep does."""
    state: dict[str, Any] = {}
    if waiting is not None:
        state["waiting"] = {"reason": waiting, "message": f"{waiting}: details"}
    if exit_code is not None or terminated_reason is not None:
        state["terminated"] = {"exitCode": exit_code, "reason": terminated_reason,
                               "message": message}
    meta: dict[str, Any] = {
        "name": "c-m1-1", "namespace": "default",
        "creationTimestamp": stamp(created or ago(110)),
        "labels": {LABEL_JOB: "1", LABEL_ATTEMPT: "1"},
        "annotations": {} if progress is None else {PROGRESS_ANNOTATION: str(progress)},
    }
    if deleting:
        meta["deletionTimestamp"] = stamp(ago(1))
    status: dict[str, Any] = {"phase": phase, "containerStatuses": [{"state": state}]}
    if phase != "Pending" or started is not None:
        status["startTime"] = stamp(started or ago(100))
    if status_reason is not None:
        status["reason"], status["message"] = status_reason, f"{status_reason} happened"
    return view_pod({"metadata": meta, "status": status})


def cand(job_id: int, owner: str, priority: int = 0, age: int = 0) -> Candidate:
    """A claimable job; higher ``age`` means created earlier."""
    return Candidate(job_id=job_id, owner=owner, priority=priority,
                     created_at=ago(1000 + age), attempt=0)


def plan(candidates: list[Candidate], held: dict[str, int] | None = None,
         global_limit: int = 10, per_user: int = 3,
         overrides: dict[str, int] | None = None) -> list[int]:
    chosen = plan_claims(candidates, SlotUsage(per_owner=held or {}), global_limit,
                         lambda owner: (overrides or {}).get(owner, per_user))
    return [c.job_id for c in chosen]


# ---------------------------------------------------------------- plan_claims


def test_the_issue_case_three_of_the_first_user_and_the_other_users_one() -> None:
    u1 = [cand(i, "u1", age=10 - i) for i in range(1, 7)]
    u2 = [cand(7, "u2")]

    assert sorted(plan([*u1, *u2])) == [1, 2, 3, 7]


def test_every_owners_kth_slot_comes_before_anyones_next() -> None:
    heavy = [cand(i, "heavy", age=1000 - i) for i in range(1, 501)]
    light = [cand(1001, "light"), cand(1002, "light")]

    chosen = plan([*heavy, *light], global_limit=4, per_user=100)

    assert sorted(chosen) == [1, 2, 1001, 1002]


def test_slots_already_held_count_towards_the_fair_rank() -> None:
    chosen = plan([cand(1, "busy"), cand(2, "busy"), cand(3, "idle"), cand(4, "idle")],
                  held={"busy": 2}, global_limit=4, per_user=5)

    assert sorted(chosen) == [3, 4]


def test_per_user_cap_applies_within_one_batch() -> None:
    chosen = plan([cand(i, "u1") for i in range(1, 7)], held={"u1": 1}, per_user=3)

    assert len(chosen) == 2


def test_an_owner_over_its_limit_gets_nothing() -> None:
    chosen = plan([cand(1, "u1"), cand(2, "u2")], held={"u1": 5}, per_user=3)

    assert chosen == [2]


def test_overrides_replace_the_per_user_limit() -> None:
    candidates = [cand(i, owner) for i, owner in enumerate(["big"] * 6 + ["zero"] * 2, 1)]

    chosen = plan(candidates, per_user=3, overrides={"big": 5, "zero": 0})

    assert sorted(chosen) == [1, 2, 3, 4, 5]


def test_the_global_cap_counts_slots_already_held() -> None:
    candidates = [cand(i, f"u{i}") for i in range(1, 6)]

    assert len(plan(candidates, held={"x": 7}, global_limit=10)) == 3
    assert plan(candidates, held={"x": 10}, global_limit=10) == []


def test_priority_then_age_within_an_owner() -> None:
    candidates = [cand(1, "u1", age=30), cand(2, "u1", age=20, priority=5),
                  cand(3, "u1", age=10, priority=5), cand(4, "u1", age=40)]

    assert plan(candidates, per_user=3) == [2, 3, 4]


def test_fairness_across_owners_comes_before_priority() -> None:
    candidates = [cand(1, "vip", priority=9), cand(2, "vip", priority=9), cand(3, "u2")]

    assert sorted(plan(candidates, global_limit=2)) == [1, 3]


def test_priority_breaks_ties_between_owners_at_the_same_rank() -> None:
    candidates = [cand(1, "u1", age=50), cand(2, "u2", priority=1)]

    assert plan(candidates, global_limit=1) == [2]


def test_age_breaks_ties_between_owners_of_equal_priority() -> None:
    candidates = [cand(1, "young"), cand(2, "old", age=50)]

    assert plan(candidates, global_limit=1) == [2]


# ---------------------------------------------------------------- retries


@given(attempt=st.integers(1, 20), base=st.floats(0.1, 100), cap=st.floats(0.1, 10_000),
       rand=st.floats(0, 1, exclude_max=True))
def test_backoff_stays_between_half_and_all_of_its_ceiling(
    attempt: int, base: float, cap: float, rand: float,
) -> None:
    ceiling = min(cap, base * 2 ** (attempt - 1))

    delay = backoff_delay(attempt, base, cap, rand)

    assert ceiling / 2 <= delay <= ceiling
    assert delay > 0


def test_backoff_doubles_with_each_attempt() -> None:
    delays = [backoff_delay(attempt, 10, 10_000, 0.5) for attempt in (1, 2, 3, 4)]

    assert delays == [7.5, 15, 30, 60]


def test_backoff_is_capped() -> None:
    assert backoff_delay(20, 10, 300, 0.999) <= 300
    assert backoff_delay(20, 10, 300, 0.0) == 150


def test_jitter_spreads_retries_of_the_same_attempt() -> None:
    assert backoff_delay(3, 10, 300, 0.0) < backoff_delay(3, 10, 300, 0.9)


def test_retry_while_attempts_are_left() -> None:
    decision = decide_retry(2, 3, base=10, cap=300, rand=lambda: 0.5)

    assert decision.kind is RetryKind.RETRY
    assert decision.delay == backoff_delay(2, 10, 300, 0.5)


@pytest.mark.parametrize("attempt", [3, 4])
def test_give_up_once_the_last_attempt_failed(attempt: int) -> None:
    assert decide_retry(attempt, 3, base=10, cap=300).kind is RetryKind.GIVE_UP


def test_a_single_attempt_job_never_retries() -> None:
    assert decide_retry(1, 1, base=10, cap=300).kind is RetryKind.GIVE_UP


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_a_permanent_failure_gives_up_at_once_whatever_attempts_are_left(attempt: int) -> None:
    decision = decide_retry(attempt, 3, base=10, cap=300, retryable=False)

    assert (decision.kind, decision.delay) == (RetryKind.PERMANENT, 0.0)


def test_a_permanent_failure_leaves_a_message_saying_it_was_not_retried() -> None:
    verdict = Verdict(Fate.FAILED, "BadSource", "source not found: /x.mp4", retryable=False)
    decision = decide_retry(1, 3, base=10, cap=300, retryable=False)

    message = failure_message(verdict, decision)
    event = failed_event(make_job(attempt=1), "BadSource", message, decision)

    assert message == f"source not found: /x.mp4; {NOT_RETRIED}"
    assert event == f"module m1 failed on attempt 1 (BadSource: {message})"


def test_a_retried_or_exhausted_failure_keeps_its_message_as_it_is() -> None:
    verdict = Verdict(Fate.FAILED, "OOMKilled", "exit 137")
    retry, exhausted = decide_retry(1, 3, 10, 300), decide_retry(3, 3, 10, 300)

    assert failure_message(verdict, retry) == failure_message(verdict, exhausted) == "exit 137"
    assert failure_message(Verdict(Fate.FAILED, "PodLost"), exhausted) == "PodLost"
    event = failed_event(make_job(attempt=3), "OOMKilled", "exit 137", exhausted)
    assert event == "module m1 failed after 3 attempts (OOMKilled: exit 137)"


# ---------------------------------------------------------------- termination messages


def bad_source(error: str = "source is not a readable video: file:///n.mp4 (Invalid data)",
               ) -> str:
    """The worker's termination message for a source no attempt can process."""
    return json.dumps({"error": error, "retryable": False})


def test_the_workers_retryable_false_is_a_permanent_failure() -> None:
    termination = parse_result(bad_source("source not found: /x.mp4"))

    assert (termination.error, termination.retryable) == ("source not found: /x.mp4", False)


@pytest.mark.parametrize("message", [
    None, "",
    json.dumps({"error": "source download failed: HTTP 503", "retryable": True}),
    json.dumps({"error": "an older worker, no flag"}),
    json.dumps({"error": "not a boolean", "retryable": "false"}),
    json.dumps({"error": "not a boolean", "retryable": 0}),
    json.dumps({"retryable": False}),  # no error: not a failure report
    '{"error": "cut by the kubelet at 4096 byt',
    "Traceback (most recent call last):\n  ...\nMemoryError",  # FallbackToLogsOnError
    json.dumps(["error", False]),
])
def test_any_other_message_stays_retryable(message: str | None) -> None:
    assert parse_result(message).retryable is True


# ---------------------------------------------------------------- judge


def test_a_claimed_job_without_a_pod_gets_its_pod_created() -> None:
    job = make_job(JobState.CLAIMED, lease_expires_at=ago(10))

    assert judge(job, None, NOW, TIMEOUTS).fate is Fate.CREATE_POD


def test_a_claimed_job_whose_pod_exists_is_adopted() -> None:
    verdict = judge(make_job(JobState.CLAIMED), make_pod("Pending", progress=0), NOW, TIMEOUTS)

    assert verdict.fate is Fate.ADOPT


def test_a_lost_pod_after_the_lease_expired_fails_the_attempt() -> None:
    verdict = judge(make_job(lease_expires_at=ago(1)), None, NOW, TIMEOUTS)

    assert (verdict.fate, verdict.reason) == (Fate.FAILED, "PodLost")


def test_a_missing_pod_within_the_lease_is_waited_for() -> None:
    verdict = judge(make_job(lease_expires_at=NOW + timedelta(seconds=1)), None, NOW, TIMEOUTS)

    assert verdict.fate is Fate.WAIT


def test_a_pod_missing_in_two_passes_in_a_row_is_lost_within_its_lease() -> None:
    job = make_job(lease_expires_at=NOW + timedelta(seconds=30))

    verdict = judge(job, None, NOW, TIMEOUTS, missing_before=True)

    assert (verdict.fate, verdict.reason) == (Fate.FAILED, "PodLost")


def test_a_claimed_job_missing_its_pod_twice_is_still_given_its_pod() -> None:
    verdict = judge(make_job(JobState.CLAIMED), None, NOW, TIMEOUTS, missing_before=True)

    assert verdict.fate is Fate.CREATE_POD


def test_a_succeeded_pod_completes_the_job_with_its_result() -> None:
    result = {"duration": 61.2, "renditions": ["480p", "720p"]}
    pod = make_pod("Succeeded", exit_code=0, terminated_reason="Completed",
                   message=json.dumps(result), progress=100)

    verdict = judge(make_job(), pod, NOW, TIMEOUTS)

    assert (verdict.fate, verdict.progress, verdict.result) == (Fate.SUCCEEDED, 100, result)


def test_a_succeeded_pod_without_a_result_still_succeeds() -> None:
    verdict = judge(make_job(), make_pod("Succeeded", exit_code=0), NOW, TIMEOUTS)

    assert (verdict.fate, verdict.result) == (Fate.SUCCEEDED, None)


def test_exit_137_is_out_of_memory_even_after_progress() -> None:
    pod = make_pod("Failed", exit_code=137, terminated_reason="Error", progress=90)

    verdict = judge(make_job(), pod, NOW, TIMEOUTS)

    assert (verdict.fate, verdict.reason) == (Fate.FAILED, "OOMKilled")


def test_an_oom_killed_container_is_out_of_memory() -> None:
    pod = make_pod("Failed", exit_code=1, terminated_reason="OOMKilled")

    assert judge(make_job(), pod, NOW, TIMEOUTS).reason == "OOMKilled"


def test_a_deadline_exceeded_pod_timed_out() -> None:
    pod = make_pod("Failed", status_reason="DeadlineExceeded")

    verdict = judge(make_job(), pod, NOW, TIMEOUTS)

    assert (verdict.fate, verdict.reason) == (Fate.FAILED, "Timeout")


def test_an_evicted_pod_fails_the_attempt() -> None:
    verdict = judge(make_job(), make_pod("Failed", status_reason="Evicted"), NOW, TIMEOUTS)

    assert (verdict.fate, verdict.reason) == (Fate.FAILED, "Evicted")


def test_a_worker_error_carries_the_workers_message() -> None:
    pod = make_pod("Failed", exit_code=2, terminated_reason="Error",
                   message=json.dumps({"error": "source is not a video"}))

    verdict = judge(make_job(), pod, NOW, TIMEOUTS)

    assert (verdict.fate, verdict.reason, verdict.message) == (
        Fate.FAILED, "Error", "source is not a video")


def test_a_bad_source_fails_for_good_with_the_workers_message() -> None:
    error = "source is not a readable video: file:///n.mp4 (Invalid data)"
    pod = make_pod("Failed", exit_code=1, terminated_reason="Error", message=bad_source(error))

    verdict = judge(make_job(), pod, NOW, TIMEOUTS)

    assert pod.retryable is False
    assert (verdict.fate, verdict.reason, verdict.message, verdict.retryable) == (
        Fate.FAILED, "BadSource", error, False)


def test_a_transient_worker_failure_is_retried_while_attempts_are_left() -> None:
    message = json.dumps({"error": "source download failed: HTTP 503", "retryable": True})
    pod = make_pod("Failed", exit_code=75, terminated_reason="Error", message=message)

    verdict = judge(make_job(attempt=1), pod, NOW, TIMEOUTS)
    decision = decide_retry(1, 3, 10, 300, retryable=verdict.retryable)

    assert (verdict.reason, verdict.retryable) == ("Error", True)
    assert decision.kind is RetryKind.RETRY and decision.delay > 0


def test_a_failed_pod_without_a_message_is_retried() -> None:
    verdict = judge(make_job(), make_pod("Failed", exit_code=1, terminated_reason="Error"),
                    NOW, TIMEOUTS)

    assert (verdict.reason, verdict.retryable) == ("Error", True)
    assert verdict.message == "the worker exited with code 1"


@pytest.mark.parametrize(("pod", "reason"), [
    (make_pod("Failed", exit_code=137, terminated_reason="OOMKilled", message=bad_source()),
     "OOMKilled"),
    (make_pod("Failed", status_reason="DeadlineExceeded", message=bad_source(), exit_code=1),
     "Timeout"),
    (make_pod("Failed", status_reason="Evicted", message=bad_source(), exit_code=1),
     "Evicted"),
])
def test_what_the_cluster_did_to_the_pod_is_retried_whatever_the_worker_wrote(
    pod: PodView, reason: str,
) -> None:
    verdict = judge(make_job(), pod, NOW, TIMEOUTS)

    assert (verdict.fate, verdict.reason, verdict.retryable) == (Fate.FAILED, reason, True)


def test_a_condemned_attempt_stays_retryable_whatever_its_pod_wrote() -> None:
    job = make_job(reason="Timeout", message="the attempt ran longer than 3600s")
    pod = make_pod("Failed", exit_code=1, terminated_reason="Error", message=bad_source())

    verdict = judge(job, pod, NOW, TIMEOUTS)

    assert (verdict.reason, verdict.retryable) == ("Timeout", True)


@pytest.mark.parametrize("waiting", ["ImagePullBackOff", "ErrImagePull", "InvalidImageName"])
def test_an_image_that_cannot_be_pulled_ends_the_attempt(waiting: str) -> None:
    pending = make_pod("Pending", created=ago(5), waiting=waiting)

    first = judge(make_job(), pending, NOW, TIMEOUTS)
    condemned = make_job(reason=first.reason, message=first.message)
    after = judge(condemned, None, NOW, TIMEOUTS)

    assert (first.fate, first.reason) == (Fate.CONDEMN, waiting)
    assert (after.fate, after.reason) == (Fate.FAILED, waiting)


def test_a_pod_pending_past_its_timeout_ends_the_attempt() -> None:
    verdict = judge(make_job(), make_pod("Pending", created=ago(301)), NOW, TIMEOUTS)

    assert (verdict.fate, verdict.reason) == (Fate.CONDEMN, "PendingTimeout")


def test_a_pod_pending_within_its_timeout_is_alive() -> None:
    verdict = judge(make_job(), make_pod("Pending", created=ago(299)), NOW, TIMEOUTS)

    assert verdict.fate is Fate.ALIVE


def test_a_pod_running_past_the_job_timeout_ends_the_attempt() -> None:
    pod = make_pod("Running", started=ago(3601), progress=95)

    verdict = judge(make_job(), pod, NOW, TIMEOUTS)

    assert (verdict.fate, verdict.reason) == (Fate.CONDEMN, "Timeout")


def test_a_running_pod_within_its_timeout_is_alive_with_its_progress() -> None:
    verdict = judge(make_job(), make_pod("Running", started=ago(3599), progress=42),
                    NOW, TIMEOUTS)

    assert (verdict.fate, verdict.progress) == (Fate.ALIVE, 42)


def test_a_condemned_attempts_failed_pod_fails_with_the_condemning_reason() -> None:
    job = make_job(reason="Timeout", message="the attempt ran longer than 3600s")
    pod = make_pod("Failed", exit_code=143, terminated_reason="Error")

    verdict = judge(job, pod, NOW, TIMEOUTS)

    assert (verdict.fate, verdict.reason) == (Fate.FAILED, "Timeout")


def test_a_deleting_pod_keeps_its_slot_while_terminating() -> None:
    verdict = judge(make_job(), make_pod("Running", deleting=True, progress=30), NOW, TIMEOUTS)

    assert verdict.fate is Fate.TERMINATING


# ---------------------------------------------------------------- project_status


LIMITS = Limits(global_limit=10, limit_for=lambda owner: 3)


def status(jobs: dict[str, Job], modules: list[str] | None = None, suspended: bool = False,
           usage: dict[str, int] | None = None) -> dict[str, Any]:
    names = modules if modules is not None else sorted(jobs)
    return project_status(names, jobs, suspended, SlotUsage(per_owner=usage or {}),
                          LIMITS, NOW)


def test_status_counts_progress_and_phase_while_processing() -> None:
    jobs = {
        "a": make_job(JobState.SUCCEEDED, progress=100),
        "b": make_job(JobState.RUNNING, progress=50),
        "c": make_job(JobState.CLAIMED, progress=0),
        "d": make_job(JobState.PENDING, attempt=0, progress=0),
    }

    got = status(jobs, usage={"u1": 2})

    assert {k: got[k] for k in ("phase", "progress", "total", "queued", "running",
                                "succeeded", "failed")} == {
        "phase": "Processing", "progress": 37, "total": 4, "queued": 1, "running": 2,
        "succeeded": 1, "failed": 0}
    assert [m["phase"] for m in got["modules"]] == ["Succeeded", "Running", "Running", "Queued"]


def test_a_running_module_never_shows_100_percent_before_it_succeeded() -> None:
    got = status({"a": make_job(JobState.RUNNING, progress=100)})

    assert got["modules"][0]["progress"] == 99


def test_all_succeeded_is_succeeded_at_100_percent() -> None:
    got = status({"a": make_job(JobState.SUCCEEDED), "b": make_job(JobState.SUCCEEDED)})

    assert (got["phase"], got["progress"]) == ("Succeeded", 100)


def test_a_failed_module_makes_a_finished_course_failed() -> None:
    jobs = {"a": make_job(JobState.SUCCEEDED),
            "b": make_job(JobState.FAILED, reason="OOMKilled", message="exit 137")}

    got = status(jobs)

    assert (got["phase"], got["failed"]) == ("Failed", 1)
    assert {k: got["modules"][1][k] for k in ("reason", "message")} == {
        "reason": "OOMKilled", "message": "exit 137"}


def test_a_module_given_up_on_a_bad_source_says_why_and_that_it_was_not_retried() -> None:
    message = f"source not found: /x.mp4; {NOT_RETRIED}"
    jobs = {"a": make_job(JobState.SUCCEEDED),
            "b": make_job(JobState.FAILED, attempt=1, reason="BadSource", message=message)}

    got = status(jobs)

    assert (got["phase"], got["failed"]) == ("Failed", 1)
    entry = got["modules"][1]
    assert (entry["phase"], entry["attempts"], entry["reason"]) == ("Failed", 1, "BadSource")
    assert "source not found: /x.mp4" in str(entry["message"])
    assert "not retried" in str(entry["message"])


def test_nothing_started_is_pending() -> None:
    assert status({"a": make_job(JobState.PENDING, attempt=0)})["phase"] == "Pending"


def test_a_suspended_course_with_nothing_running_is_suspended() -> None:
    got = status({"a": make_job(JobState.PENDING, attempt=0, suspended=True)},
                 suspended=True)

    assert got["phase"] == "Suspended"
    assert got["modules"][0]["reason"] == "Suspended"


def test_a_module_without_a_job_yet_is_queued() -> None:
    got = status({}, modules=["new"])

    assert got["modules"] == [{"name": "new", "phase": "Queued", "attempts": 0,
                               "progress": 0, "reason": "Enqueueing",
                               "message": "the job is being created"}]


def test_a_queued_module_says_it_waits_for_its_owners_slots() -> None:
    got = status({"a": make_job(JobState.PENDING, attempt=0)}, usage={"u1": 3})

    assert (got["modules"][0]["reason"], got["modules"][0]["message"]) == (
        "UserLimit", "3/3 slots of u1 in use")


def test_a_queued_module_says_it_waits_for_global_slots() -> None:
    got = status({"a": make_job(JobState.PENDING, attempt=0)}, usage={"other": 10})

    assert got["modules"][0]["reason"] == "GlobalLimit"


def test_a_module_in_backoff_says_so_and_why() -> None:
    job = make_job(JobState.PENDING, attempt=1, not_before=NOW + timedelta(seconds=30),
                   reason="OOMKilled", message="exit 137")

    entry = status({"a": job})["modules"][0]

    assert entry["reason"] == "Backoff"
    assert "OOMKilled" in str(entry["message"])


def test_module_entries_follow_the_spec_order() -> None:
    jobs = {name: make_job(JobState.PENDING, attempt=0, module=name) for name in "cab"}

    got = status(jobs, modules=["c", "a", "b"])

    assert [m["name"] for m in got["modules"]] == ["c", "a", "b"]


# ---------------------------------------------------------------- set_condition


def test_a_new_condition_transitions_now() -> None:
    [condition] = set_condition([], "Ready", "False", "Processing", "2/6 done", 3, NOW)

    assert condition == {"type": "Ready", "status": "False", "reason": "Processing",
                         "message": "2/6 done", "observedGeneration": 3,
                         "lastTransitionTime": stamp(NOW)}


def test_the_transition_time_stays_while_the_status_does_not_flip() -> None:
    first = set_condition([], "Ready", "False", "Processing", "2/6 done", 3, ago(600))

    [condition] = set_condition(first, "Ready", "False", "Processing", "4/6 done", 4, NOW)

    assert condition["lastTransitionTime"] == stamp(ago(600))
    assert (condition["message"], condition["observedGeneration"]) == ("4/6 done", 4)


def test_the_transition_time_moves_when_the_status_flips() -> None:
    first = set_condition([], "Ready", "False", "Processing", "5/6 done", 3, ago(600))

    [condition] = set_condition(first, "Ready", "True", "Succeeded", "6/6 done", 3, NOW)

    assert condition["lastTransitionTime"] == stamp(NOW)


def test_other_conditions_are_kept() -> None:
    stalled = {"type": "Stalled", "status": "False", "reason": "Fine", "message": "",
               "observedGeneration": 1, "lastTransitionTime": stamp(ago(900))}

    conditions = set_condition([stalled], "Ready", "True", "Succeeded", "done", 1, NOW)

    assert stalled in conditions
    assert {c["type"] for c in conditions} == {"Stalled", "Ready"}


def test_long_messages_are_truncated() -> None:
    [condition] = set_condition([], "Ready", "False", "Failed", "x" * 5000, 1, NOW)

    assert len(str(condition["message"])) == 1024
    assert str(condition["message"]).endswith("...")


# ---------------------------------------------------------------- spec drift


def _spec(**changes: Any) -> CourseSpec:
    fields: dict[str, Any] = {"owner": "u1", "modules": [{"name": "m", "source": "file:///a"}]}
    return CourseSpec.model_validate({**fields, **changes})


def test_rows_that_match_the_spec_have_not_drifted() -> None:
    job = make_job(JobState.PENDING, owner="u1", module="m", source="file:///a")
    assert not spec_drifted(_spec(), [job])


@pytest.mark.parametrize("edit", [{"priority": 5}, {"suspend": True}])
def test_priority_and_suspension_drift_on_any_live_row(edit: dict[str, Any]) -> None:
    job = make_job(JobState.RUNNING, owner="u1", module="m", source="file:///a")
    assert spec_drifted(_spec(**edit), [job])
    assert not spec_drifted(_spec(**edit), [replace(job, state=JobState.SUCCEEDED)])


def test_owner_and_source_drift_only_on_queued_rows() -> None:
    edit = _spec(owner="u2", modules=[{"name": "m", "source": "file:///b"}])
    running = make_job(JobState.RUNNING, owner="u1", module="m", source="file:///a")
    assert not spec_drifted(edit, [running]), "a running attempt keeps its owner and file"
    assert spec_drifted(edit, [replace(running, state=JobState.PENDING)])
