"""The queue's contract, one suite for every backend (DESIGN section 3).

Each test runs on SQLite and on PostgreSQL through the parametrized ``queue`` fixtures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from controller.db import ClaimLimits, Queue
from controller.decisions import decide_retry
from controller.model import Job, JobState

from .builders import (
    DEFAULTS,
    GIVE_UP,
    LEASE,
    RETRY_SOON,
    FakeClock,
    all_jobs,
    limits,
    make_course,
)


def claim(queue: Queue, claim_limits: ClaimLimits | None = None,
          lease: float = LEASE) -> list[Job]:
    return queue.claim(claim_limits or limits(), lease, "test-claimer")


def owners(claimed: list[Job]) -> Counter[str]:
    return Counter(job.owner for job in claimed)


def states(queue: Queue) -> dict[str, JobState]:
    return {f"{job.course_name}/{job.module}": job.state for job in all_jobs(queue)}


def finish(queue: Queue, job: Job) -> None:
    assert queue.succeed(job, None)


# ---------------------------------------------------------------- enqueue


def test_enqueue_creates_a_pending_row_for_every_module(queue: Queue) -> None:
    course = make_course(modules=6)

    result = queue.sync_course(course, DEFAULTS)

    live = queue.live_jobs()
    assert result.inserted == 6
    assert sorted(job.module for job in live) == [f"m{i}" for i in range(1, 7)]
    assert {(job.state, job.attempt, job.owner) for job in live} == {
        (JobState.PENDING, 0, "u1")}


def test_enqueue_is_idempotent(queue: Queue) -> None:
    course = make_course(modules=6)
    queue.sync_course(course, DEFAULTS)

    again = queue.sync_course(course, DEFAULTS)

    assert again.inserted == 0
    assert again.cancelled == []
    assert len(queue.live_jobs()) == 6


def test_enqueue_inserts_only_the_new_modules(queue: Queue) -> None:
    queue.sync_course(make_course(name="c", modules=3), DEFAULTS)

    result = queue.sync_course(make_course(name="c", modules=5), DEFAULTS)

    assert result.inserted == 2
    assert sorted(job.module for job in queue.live_jobs()) == ["m1", "m2", "m3", "m4", "m5"]


def test_removed_modules_are_cancelled_and_nothing_else(queue: Queue) -> None:
    queue.sync_course(make_course(name="c", modules=4), DEFAULTS)
    queue.sync_course(make_course(name="other", modules=4), DEFAULTS)

    result = queue.sync_course(make_course(name="c", modules=["m1", "m3"]), DEFAULTS)

    assert sorted(job.module for job in result.cancelled) == ["m2", "m4"]
    assert {job.reason for job in result.cancelled} == {"ModuleRemoved"}
    assert states(queue) == {
        "c/m1": JobState.PENDING, "c/m2": JobState.CANCELLED,
        "c/m3": JobState.PENDING, "c/m4": JobState.CANCELLED,
        **{f"other/m{i}": JobState.PENDING for i in range(1, 5)},
    }


def test_max_attempts_comes_from_the_course_or_the_defaults(queue: Queue) -> None:
    queue.sync_course(make_course(name="own", modules=1, max_attempts=7), DEFAULTS)
    queue.sync_course(make_course(name="dflt", modules=1), DEFAULTS)

    assert {job.course_name: job.max_attempts for job in queue.live_jobs()} == {
        "own": 7, "dflt": DEFAULTS.max_attempts}


def test_sync_refreshes_settings_of_live_rows_only(queue: Queue) -> None:
    queue.sync_course(make_course(name="c", modules=2), DEFAULTS)
    [done, _] = claim(queue)
    finish(queue, done)

    queue.sync_course(make_course(name="c", modules=2, priority=9, suspend=True), DEFAULTS)

    rows = {job.module: job for job in all_jobs(queue)}
    assert (rows["m1"].priority, rows["m1"].suspended) == (0, False)
    assert (rows["m2"].priority, rows["m2"].suspended) == (9, True)


# ---------------------------------------------------------------- claim limits


def test_changing_a_courses_owner_never_puts_the_new_owner_over_its_limit(
    queue: Queue,
) -> None:
    queue.sync_course(make_course(name="a", owner="u1", modules=5), DEFAULTS)
    queue.sync_course(make_course(name="b", owner="u2", modules=3), DEFAULTS)
    claim(queue, limits(per_user=3))

    queue.sync_course(make_course(name="a", owner="u2", modules=5), DEFAULTS)

    assert queue.slot_usage().per_owner == {"u1": 3, "u2": 3}, "held slots stay with u1"
    pending = [j for j in queue.live_jobs() if j.state.value == "pending"]
    assert len(pending) == 2 and {j.owner for j in pending} == {"u2"}, "queued rows move"
    assert claim(queue, limits(per_user=3)) == [], "u2 is at its limit"


def test_claim_respects_the_per_user_limit(queue: Queue) -> None:
    queue.sync_course(make_course(owner="u1", modules=6), DEFAULTS)

    first = claim(queue, limits(per_user=3))
    second = claim(queue, limits(per_user=3))

    assert len(first) == 3
    assert second == []
    assert queue.slot_usage().per_owner == {"u1": 3}


def test_a_finished_job_frees_its_slot_for_the_next_claim(queue: Queue) -> None:
    queue.sync_course(make_course(owner="u1", modules=6), DEFAULTS)
    first = claim(queue, limits(per_user=3))

    finish(queue, first[0])
    after = claim(queue, limits(per_user=3))

    assert len(after) == 1
    assert after[0].id not in {job.id for job in first}


def test_claim_respects_the_global_limit(queue: Queue) -> None:
    for owner in ("u1", "u2", "u3"):
        queue.sync_course(make_course(owner=owner, modules=6), DEFAULTS)

    first = claim(queue, limits(global_limit=4, per_user=3))
    second = claim(queue, limits(global_limit=4, per_user=3))

    assert len(first) == 4
    assert second == []
    assert queue.slot_usage().total == 4


def test_the_issue_case_all_six_queued_three_run_and_the_other_user_is_not_blocked(
    queue: Queue,
) -> None:
    queue.sync_course(make_course(owner="u1", modules=6), DEFAULTS)
    queue.sync_course(make_course(owner="u2", modules=1), DEFAULTS)

    claimed = claim(queue, limits(global_limit=10, per_user=3))

    assert owners(claimed) == {"u1": 3, "u2": 1}
    assert sum(job.state is JobState.PENDING for job in queue.live_jobs()) == 3


def test_the_remaining_modules_start_as_slots_free_without_any_event(queue: Queue) -> None:
    course = make_course(owner="u1", modules=6)
    queue.sync_course(course, DEFAULTS)

    for _ in range(6):
        for job in claim(queue, limits(per_user=3)):
            finish(queue, job)

    assert set(states(queue).values()) == {JobState.SUCCEEDED}


def test_per_user_overrides(queue: Queue) -> None:
    for owner in ("big", "small", "normal"):
        queue.sync_course(make_course(owner=owner, modules=6), DEFAULTS)

    claimed = claim(queue, limits(global_limit=20, per_user=3, big=5, small=1))

    assert owners(claimed) == {"big": 5, "small": 1, "normal": 3}


def test_an_override_of_zero_claims_nothing_for_that_owner(queue: Queue) -> None:
    queue.sync_course(make_course(owner="blocked", modules=2), DEFAULTS)
    queue.sync_course(make_course(owner="u2", modules=2), DEFAULTS)

    claimed = claim(queue, limits(blocked=0))

    assert owners(claimed) == {"u2": 2}


def test_slots_already_held_count_against_the_limits(queue: Queue) -> None:
    queue.sync_course(make_course(owner="u1", modules=6), DEFAULTS)
    [running, *_] = claim(queue, limits(per_user=2))
    assert queue.mark_running(running, LEASE)

    assert claim(queue, limits(per_user=3)) != []
    assert queue.slot_usage().per_owner == {"u1": 3}


def test_suspended_courses_are_not_claimed(queue: Queue) -> None:
    queue.sync_course(make_course(name="paused", owner="u1", suspend=True), DEFAULTS)
    queue.sync_course(make_course(name="active", owner="u1", modules=1), DEFAULTS)

    claimed = claim(queue)

    assert [job.course_name for job in claimed] == ["active"]


def test_resuming_a_course_makes_its_modules_claimable(queue: Queue) -> None:
    queue.sync_course(make_course(name="c", suspend=True, modules=2), DEFAULTS)
    assert claim(queue) == []

    queue.sync_course(make_course(name="c", suspend=False, modules=2), DEFAULTS)

    assert len(claim(queue)) == 2


def test_an_owner_with_500_queued_does_not_delay_an_owner_with_2(queue: Queue) -> None:
    queue.sync_course(make_course(owner="heavy", modules=500), DEFAULTS)
    queue.sync_course(make_course(owner="light", modules=2), DEFAULTS)

    claimed = claim(queue, limits(global_limit=4, per_user=10))

    assert owners(claimed) == {"heavy": 2, "light": 2}


def test_fairness_counts_slots_already_held(queue: Queue) -> None:
    queue.sync_course(make_course(owner="heavy", modules=10), DEFAULTS)
    claim(queue, limits(global_limit=2, per_user=10))
    queue.sync_course(make_course(owner="light", modules=3), DEFAULTS)

    claimed = claim(queue, limits(global_limit=4, per_user=10))

    assert owners(claimed) == {"light": 2}


@pytest.mark.parametrize("depth", [300, 3000])
def test_fairness_holds_when_one_owner_fills_the_front_of_the_queue(
    queue: Queue, depth: int,
) -> None:
    """The claim ranks only a prefix of the queue (widening it when the answer could still
    change, then taking each owner's first rows): the old rows of one owner must not hide
    the owners queued behind them."""
    for start in range(0, depth, 1000):
        names = [f"m{index + 1}" for index in range(start, min(depth, start + 1000))]
        queue.sync_course(make_course(owner="deep", modules=names), DEFAULTS)
    queue.sync_course(make_course(owner="a", modules=2), DEFAULTS)
    queue.sync_course(make_course(owner="b", modules=2), DEFAULTS)

    claimed = claim(queue, limits(global_limit=10, per_user=3))

    assert [(job.owner, job.module) for job in claimed] == [
        ("deep", "m1"), ("a", "m1"), ("b", "m1"),
        ("deep", "m2"), ("a", "m2"), ("b", "m2"),
        ("deep", "m3"),
    ]
    # Holding its three slots, the deep owner's queue is skipped as a whole.
    queue.sync_course(make_course(owner="c", modules=2), DEFAULTS)
    assert [(job.owner, job.module) for job in claim(queue, limits(global_limit=10))] == [
        ("c", "m1"), ("c", "m2")]


def test_a_batch_hands_out_every_first_slot_before_any_second(queue: Queue) -> None:
    for index in range(60):
        queue.sync_course(make_course(owner=f"u{index:02}", modules=10), DEFAULTS)
    wide = limits(global_limit=500, per_user=3)

    first = queue.claim(wide, LEASE, "test-claimer", max_batch=20)
    # The 20 owners now holding a slot have the oldest rows, yet rank behind the 40 others.
    second = queue.claim(wide, LEASE, "test-claimer", max_batch=50)

    assert [(job.owner, job.module) for job in first] == [
        (f"u{index:02}", "m1") for index in range(20)]
    assert [(job.owner, job.module) for job in second] == [
        *((f"u{index:02}", "m1") for index in range(20, 60)),
        *((f"u{index:02}", "m2") for index in range(10)),
    ]


def test_priority_orders_the_jobs_of_one_owner(queue: Queue) -> None:
    queue.sync_course(make_course(name="old", owner="u1", modules=3), DEFAULTS)
    queue.sync_course(make_course(name="urgent", owner="u1", modules=3, priority=5), DEFAULTS)

    claimed = claim(queue, limits(per_user=2))

    assert {job.course_name for job in claimed} == {"urgent"}


def test_without_priority_older_jobs_go_first(queue: Queue) -> None:
    queue.sync_course(make_course(name="old", owner="u1", modules=2), DEFAULTS)
    queue.sync_course(make_course(name="new", owner="u1", modules=2), DEFAULTS)

    claimed = claim(queue, limits(per_user=2))

    assert {job.course_name for job in claimed} == {"old"}


def test_a_high_priority_owner_does_not_take_another_owners_first_slot(
    queue: Queue,
) -> None:
    queue.sync_course(make_course(owner="u1", modules=3, priority=9), DEFAULTS)
    queue.sync_course(make_course(owner="u2", modules=3), DEFAULTS)

    claimed = claim(queue, limits(global_limit=2))

    assert owners(claimed) == {"u1": 1, "u2": 1}


def test_priority_breaks_ties_between_owners_at_the_same_slot(queue: Queue) -> None:
    queue.sync_course(make_course(owner="u1", modules=3), DEFAULTS)
    queue.sync_course(make_course(owner="u2", modules=3, priority=1), DEFAULTS)

    claimed = claim(queue, limits(global_limit=1))

    assert owners(claimed) == {"u2": 1}


# ---------------------------------------------------------------- attempts and transitions


def test_attempts_are_counted_at_claim(queue: Queue) -> None:
    queue.sync_course(make_course(name="c", modules=1), DEFAULTS)

    [job] = claim(queue)

    stored = queue.get(job.id)
    assert stored is not None
    assert (job.state, job.attempt, stored.attempt) == (JobState.CLAIMED, 1, 1)
    assert job.pod_name == "c-m1-1"
    assert job.claimed_at is not None


def test_a_retried_job_is_claimed_with_the_next_attempt(
    clocked_queue: Queue, clock: FakeClock,
) -> None:
    clocked_queue.sync_course(make_course(name="c", modules=1), DEFAULTS)
    [first] = claim(clocked_queue)
    clocked_queue.fail_attempt(first, "PodLost", "gone", RETRY_SOON)
    clock.advance(RETRY_SOON.delay)

    [second] = claim(clocked_queue)

    assert (second.id, second.attempt, second.pod_name) == (first.id, 2, "c-m1-2")


def test_mark_running_starts_the_job_and_its_lease(
    clocked_queue: Queue, clock: FakeClock,
) -> None:
    clocked_queue.sync_course(make_course(modules=1), DEFAULTS)
    [job] = claim(clocked_queue)
    clock.advance(5)

    assert clocked_queue.mark_running(job, 90, progress=3)

    row = clocked_queue.get(job.id)
    assert row is not None
    assert (row.state, row.progress, row.started_at) == (JobState.RUNNING, 3, clock.now)
    assert row.lease_expires_at == clock.now + timedelta(seconds=90)


def test_succeed_records_the_result(queue: Queue) -> None:
    queue.sync_course(make_course(modules=1), DEFAULTS)
    [job] = claim(queue)
    queue.mark_running(job, LEASE)

    assert queue.succeed(job, {"duration": 12.5, "renditions": ["720p"]})

    row = queue.get(job.id)
    assert row is not None
    assert (row.state, row.progress, row.lease_expires_at) == (JobState.SUCCEEDED, 100, None)
    assert row.result == {"duration": 12.5, "renditions": ["720p"]}
    assert row.finished_at is not None
    assert queue.slot_usage().total == 0


@pytest.fixture
def stale(clocked_queue: Queue, clock: FakeClock) -> tuple[Job, Job]:
    """(a snapshot of attempt 1, the row as it is now: attempt 2, claimed)."""
    clocked_queue.sync_course(make_course(modules=1), DEFAULTS)
    [old] = claim(clocked_queue)
    clocked_queue.fail_attempt(old, "PodLost", "gone", RETRY_SOON)
    clock.advance(RETRY_SOON.delay)
    [current] = claim(clocked_queue)
    return old, current


def test_a_stale_snapshot_cannot_succeed(clocked_queue: Queue, stale: tuple[Job, Job]) -> None:
    old, current = stale
    assert clocked_queue.succeed(old, {"stale": True}) is False
    assert clocked_queue.get(current.id) == current


def test_a_stale_snapshot_cannot_fail(clocked_queue: Queue, stale: tuple[Job, Job]) -> None:
    old, current = stale
    assert clocked_queue.fail_attempt(old, "Timeout", "stale", GIVE_UP) is None
    assert clocked_queue.get(current.id) == current


def test_a_stale_snapshot_cannot_start(clocked_queue: Queue, stale: tuple[Job, Job]) -> None:
    old, current = stale
    assert clocked_queue.mark_running(old, LEASE) is False
    assert clocked_queue.get(current.id) == current


def test_a_stale_snapshot_cannot_renew(clocked_queue: Queue, stale: tuple[Job, Job],
                                       clock: FakeClock) -> None:
    old, current = stale
    clock.advance(10)
    assert clocked_queue.renew(old, 600) is False
    assert clocked_queue.get(current.id) == current


def test_a_job_finishes_only_once(queue: Queue) -> None:
    queue.sync_course(make_course(modules=1), DEFAULTS)
    [job] = claim(queue)
    assert queue.succeed(job, {"first": True})

    assert queue.succeed(job, {"second": True}) is False
    assert queue.fail_attempt(job, "Error", "late", RETRY_SOON) is None
    row = queue.get(job.id)
    assert row is not None
    assert (row.state, row.result) == (JobState.SUCCEEDED, {"first": True})


def test_mark_running_happens_once(queue: Queue) -> None:
    queue.sync_course(make_course(modules=1), DEFAULTS)
    [job] = claim(queue)

    assert queue.mark_running(job, LEASE)
    assert queue.mark_running(job, LEASE) is False


def test_a_cancelled_job_stays_cancelled(queue: Queue) -> None:
    course = make_course(modules=1)
    queue.sync_course(course, DEFAULTS)
    [job] = claim(queue)
    queue.cancel_course(course.ref.uid)

    assert queue.mark_running(job, LEASE) is False
    assert queue.succeed(job, None) is False
    assert queue.fail_attempt(job, "Error", "late", RETRY_SOON) is None
    assert queue.renew(job, LEASE) is False
    assert states(queue) == {f"{course.ref.name}/m1": JobState.CANCELLED}


# ---------------------------------------------------------------- retries


def test_a_retry_waits_for_its_backoff_and_holds_no_slot(
    clocked_queue: Queue, clock: FakeClock,
) -> None:
    clocked_queue.sync_course(make_course(owner="u1", modules=["a", "b"]), DEFAULTS)
    [job] = claim(clocked_queue, limits(per_user=1))

    state = clocked_queue.fail_attempt(job, "OOMKilled", "exit 137", RETRY_SOON)

    row = clocked_queue.get(job.id)
    assert row is not None
    assert state is JobState.PENDING
    assert (row.state, row.reason, row.lease_expires_at) == (JobState.PENDING, "OOMKilled", None)
    assert row.not_before == clock.now + timedelta(seconds=RETRY_SOON.delay)
    assert clocked_queue.slot_usage().total == 0
    [other] = claim(clocked_queue, limits(per_user=1))
    assert other.module == "b"


def test_a_job_in_backoff_is_claimable_only_once_the_clock_passes_not_before(
    clocked_queue: Queue, clock: FakeClock,
) -> None:
    clocked_queue.sync_course(make_course(modules=1), DEFAULTS)
    [job] = claim(clocked_queue)
    clocked_queue.fail_attempt(job, "Error", "exit 1", RETRY_SOON)

    assert claim(clocked_queue) == []
    clock.advance(RETRY_SOON.delay - 1)
    assert claim(clocked_queue) == []
    clock.advance(1)
    assert [j.id for j in claim(clocked_queue)] == [job.id]


def test_the_last_attempt_fails_for_good_with_its_reason(
    clocked_queue: Queue, clock: FakeClock,
) -> None:
    clocked_queue.sync_course(make_course(modules=1, max_attempts=2), DEFAULTS)
    reasons = iter([("PodLost", "the pod disappeared"), ("OOMKilled", "exit code 137")])
    states_seen = []
    while (claimed := claim(clocked_queue)) != []:
        [job] = claimed
        reason, message = next(reasons)
        decision = decide_retry(job.attempt, job.max_attempts, base=10, cap=60,
                                rand=lambda: 0.5)
        states_seen.append(clocked_queue.fail_attempt(job, reason, message, decision))
        clock.advance(3600)

    [row] = all_jobs(clocked_queue)
    assert states_seen == [JobState.PENDING, JobState.FAILED]
    assert (row.state, row.attempt) == (JobState.FAILED, 2)
    assert (row.reason, row.message) == ("OOMKilled", "exit code 137")
    assert row.finished_at is not None


# ---------------------------------------------------------------- cancel


def _to_pending(queue: Queue, clock: FakeClock) -> None:
    pass


def _to_claimed(queue: Queue, clock: FakeClock) -> None:
    claim(queue)


def _to_running(queue: Queue, clock: FakeClock) -> None:
    [job] = claim(queue)
    queue.mark_running(job, LEASE)


def _to_backoff(queue: Queue, clock: FakeClock) -> None:
    [job] = claim(queue)
    queue.fail_attempt(job, "Error", "exit 1", RETRY_SOON)


@pytest.mark.parametrize("reach", [_to_pending, _to_claimed, _to_running, _to_backoff],
                         ids=["pending", "claimed", "running", "backoff"])
def test_cancel_from_every_live_state(
    clocked_queue: Queue, clock: FakeClock, reach: Callable[[Queue, FakeClock], None],
) -> None:
    course = make_course(modules=1)
    bystander = make_course(modules=1)
    clocked_queue.sync_course(course, DEFAULTS)
    reach(clocked_queue, clock)
    clocked_queue.sync_course(bystander, DEFAULTS)

    cancelled = clocked_queue.cancel_course(course.ref.uid)

    assert [(job.course_name, job.state, job.reason) for job in cancelled] == [
        (course.ref.name, JobState.CANCELLED, "CourseDeleted")]
    assert cancelled[0].finished_at == clock.now
    assert clocked_queue.slot_usage().total == 0
    assert states(clocked_queue) == {f"{course.ref.name}/m1": JobState.CANCELLED,
                                     f"{bystander.ref.name}/m1": JobState.PENDING}


def test_cancel_leaves_finished_jobs_alone(queue: Queue) -> None:
    course = make_course(modules=["done", "failed", "queued"])
    queue.sync_course(course, DEFAULTS)
    by_module = {job.module: job for job in claim(queue)}
    queue.succeed(by_module["done"], None)
    queue.fail_attempt(by_module["failed"], "Error", "exit 1", GIVE_UP)
    queue.fail_attempt(by_module["queued"], "Error", "exit 1", RETRY_SOON)

    cancelled = queue.cancel_course(course.ref.uid)

    assert [job.module for job in cancelled] == ["queued"]
    assert {job.module: job.state for job in all_jobs(queue)} == {
        "done": JobState.SUCCEEDED, "failed": JobState.FAILED, "queued": JobState.CANCELLED}


# ---------------------------------------------------------------- leases and clock


def test_a_claim_lease_is_relative_to_the_database_clock(queue: Queue) -> None:
    queue.sync_course(make_course(modules=1), DEFAULTS)
    before = queue.now()
    [job] = claim(queue, lease=120)
    after = queue.now()

    assert job.lease_expires_at is not None
    assert before + timedelta(seconds=120) <= job.lease_expires_at
    assert job.lease_expires_at <= after + timedelta(seconds=120)


def test_renew_extends_the_lease_from_the_database_clock(queue: Queue) -> None:
    queue.sync_course(make_course(modules=1), DEFAULTS)
    [job] = claim(queue, lease=5)
    queue.mark_running(job, 5)
    [job] = queue.slot_jobs()
    before = queue.now()

    assert queue.renew(job, 600, progress=40)

    after = queue.now()
    row = queue.get(job.id)
    assert row is not None and row.lease_expires_at is not None
    assert before + timedelta(seconds=600) <= row.lease_expires_at
    assert row.lease_expires_at <= after + timedelta(seconds=600)
    assert row.progress == 40


def test_renew_uses_the_queue_clock_not_the_callers(
    clocked_queue: Queue, clock: FakeClock,
) -> None:
    clocked_queue.sync_course(make_course(modules=1), DEFAULTS)
    [job] = claim(clocked_queue, lease=60)
    clock.advance(3600)

    assert clocked_queue.renew(job, 60)

    row = clocked_queue.get(job.id)
    assert row is not None
    assert row.lease_expires_at == clock.now + timedelta(seconds=60)


def test_renew_keeps_progress_below_100_until_success(queue: Queue) -> None:
    queue.sync_course(make_course(modules=1), DEFAULTS)
    [job] = claim(queue)

    queue.renew(job, LEASE, progress=250)

    row = queue.get(job.id)
    assert row is not None
    assert row.progress == 99


def test_renew_many_extends_live_leases_in_one_go_and_ignores_stale_ones(
    clocked_queue: Queue, clock: FakeClock,
) -> None:
    clocked_queue.sync_course(make_course(modules=3), DEFAULTS)
    first, second, third = claim(clocked_queue, lease=60)
    clocked_queue.fail_attempt(third, "Error", "boom", decide_retry(1, 3, 0, 0))
    clock.advance(30)

    extended = clocked_queue.renew_many([(first, 40), (second, None), (third, 70)], 600)

    rows = {job.id: clocked_queue.get(job.id) for job in (first, second, third)}
    assert extended == 2, "the third job's attempt already ended: its renewal is stale"
    assert rows[first.id].lease_expires_at == clock.now + timedelta(seconds=600)  # type: ignore[union-attr]
    assert (rows[first.id].progress, rows[second.id].progress) == (40, 0)  # type: ignore[union-attr]
    assert rows[third.id].state is JobState.PENDING and rows[third.id].progress == 0  # type: ignore[union-attr]
    assert clocked_queue.renew_many([], 600) == 0


def test_live_counts_count_live_rows_by_state(queue: Queue) -> None:
    queue.sync_course(make_course(modules=5), DEFAULTS)
    first, second, third = claim(queue, limits(per_user=3))
    queue.mark_running(first, LEASE)
    queue.succeed(second, None)

    assert queue.live_counts() == {JobState.PENDING: 2, JobState.CLAIMED: 1,
                                   JobState.RUNNING: 1}
    assert third.state is JobState.CLAIMED


def test_the_queue_reads_time_from_its_clock(clocked_queue: Queue, clock: FakeClock) -> None:
    assert clocked_queue.now() == clock.now


# ---------------------------------------------------------------- reads


def test_jobs_of_courses_groups_rows_by_course(queue: Queue) -> None:
    a, b, c = make_course(modules=2), make_course(modules=3), make_course(modules=1)
    for course in (a, b, c):
        queue.sync_course(course, DEFAULTS)

    grouped = queue.jobs_of_courses([a.ref.uid, b.ref.uid, "uid-unknown"])

    assert {uid: len(rows) for uid, rows in grouped.items()} == {a.ref.uid: 2, b.ref.uid: 3}


def test_slot_jobs_are_the_claimed_and_running_ones(queue: Queue) -> None:
    queue.sync_course(make_course(modules=4), DEFAULTS)
    first, second, third = claim(queue, limits(per_user=3))
    queue.mark_running(second, LEASE)
    queue.succeed(third, None)

    assert {job.id for job in queue.slot_jobs()} == {first.id, second.id}
    assert queue.live_course_uids() == {first.course_uid}
