"""Random operation sequences against the queue, checked step by step against a plain model.

The model is a dict of rows and the rules of DESIGN section 3 written the simple way
(including the fair claim order); after every step the database must agree with it, and
no owner, nor the total, may hold more slots than the limits allow.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from controller.db import ClaimLimits, Queue
from controller.decisions import RetryKind, decide_retry
from controller.model import Job, JobState

from .builders import DEFAULTS, FakeClock, make_course
from .conftest import empty

LEASE = 30.0
BACKOFF_BASE, BACKOFF_CAP = 4.0, 16.0
COURSES = {"c0": "u1", "c1": "u1", "c2": "u2", "c3": "u3"}
MODULES = ["m1", "m2", "m3", "m4"]
SLOT = {JobState.CLAIMED, JobState.RUNNING}
LIVE = {JobState.PENDING, JobState.CLAIMED, JobState.RUNNING}

Key = tuple[str, str]


@dataclass
class Row:
    """The model of one queue row."""

    id: int
    owner: str
    created_at: datetime
    priority: int
    suspended: bool
    max_attempts: int
    state: JobState = JobState.PENDING
    attempt: int = 0
    not_before: datetime | None = None
    lease: datetime | None = None


class QueueMachine(RuleBasedStateMachine):
    engine: Engine

    def __init__(self) -> None:
        super().__init__()
        empty(self.engine)
        self.clock = FakeClock()
        self.queue = Queue(self.engine, clock=self.clock)
        self.rows: dict[Key, Row] = {}
        self.snapshots: list[Job] = []
        self.limits = ClaimLimits(global_limit=3, per_user_limit=2)

    # ------------------------------------------------------------ helpers

    def db_jobs(self) -> dict[Key, Job]:
        grouped = self.queue.jobs_of_courses(f"uid-{name}" for name in COURSES)
        return {(job.course_name, job.module): job for rows in grouped.values() for job in rows}

    def keys_in(self, states: set[JobState]) -> list[Key]:
        return sorted(key for key, row in self.rows.items() if row.state in states)

    def remember(self, *jobs: Job) -> None:
        self.snapshots = [*self.snapshots, *jobs][-12:]

    def expected_claims(self) -> list[Key]:
        """The fair choice, written plainly: each owner's k-th slot before anyone's k+1-th."""
        now = self.clock.now
        held = Counter(row.owner for row in self.rows.values() if row.state in SLOT)
        free = self.limits.global_limit - sum(held.values())
        by_owner: dict[str, list[Key]] = {}
        for key, row in self.rows.items():
            if (row.state is JobState.PENDING and not row.suspended
                    and (row.not_before is None or row.not_before <= now)):
                by_owner.setdefault(row.owner, []).append(key)
        ranked = []
        for owner, keys in by_owner.items():
            keys.sort(key=lambda k: (-self.rows[k].priority, self.rows[k].created_at,
                                     self.rows[k].id))
            room = self.limits.limit_for(owner) - held[owner]
            for place, key in enumerate(keys[:max(0, room)], start=1):
                row = self.rows[key]
                ranked.append(((held[owner] + place, -row.priority, row.created_at, row.id),
                               key))
        ranked.sort()
        return [key for _, key in ranked[:max(0, free)]]

    def fail_in_model(self, key: Key, rand: float) -> JobState:
        row = self.rows[key]
        decision = decide_retry(row.attempt, row.max_attempts, BACKOFF_BASE, BACKOFF_CAP,
                                rand=lambda: rand)
        row.lease = None
        if decision.kind is RetryKind.RETRY:
            row.state = JobState.PENDING
            row.not_before = self.clock.now + timedelta(seconds=decision.delay)
        else:
            row.state = JobState.FAILED
        return row.state

    # ------------------------------------------------------------ rules

    @initialize(global_limit=st.integers(1, 5), per_user=st.integers(1, 3),
                override=st.none() | st.integers(0, 4))
    def set_limits(self, global_limit: int, per_user: int, override: int | None) -> None:
        overrides = {} if override is None else {"u3": override}
        self.limits = ClaimLimits(global_limit, per_user, overrides)

    @rule(name=st.sampled_from(sorted(COURSES)),
          modules=st.lists(st.sampled_from(MODULES), min_size=1, unique=True),
          priority=st.integers(0, 2), suspend=st.booleans(), max_attempts=st.integers(1, 3))
    def enqueue(self, name: str, modules: list[str], priority: int, suspend: bool,
                max_attempts: int) -> None:
        course = make_course(name=name, owner=COURSES[name], modules=modules,
                             priority=priority, suspend=suspend, max_attempts=max_attempts)
        result = self.queue.sync_course(course, DEFAULTS)

        new = [m for m in modules if (name, m) not in self.rows]
        gone = [m for m in MODULES if m not in modules
                and (name, m) in self.rows and self.rows[(name, m)].state in LIVE]
        assert result.inserted == len(new)
        assert sorted(job.module for job in result.cancelled) == sorted(gone)
        ids = {key: job.id for key, job in self.db_jobs().items()}
        for module in new:
            self.rows[(name, module)] = Row(
                id=ids[(name, module)], owner=COURSES[name], created_at=self.clock.now,
                priority=priority, suspended=suspend, max_attempts=max_attempts)
        for module in gone:
            self.rows[(name, module)].state = JobState.CANCELLED
            self.rows[(name, module)].lease = None
        for (course_name, _), row in self.rows.items():
            if course_name == name and row.state in LIVE:
                row.priority, row.suspended = priority, suspend
                row.max_attempts = max_attempts

    @rule()
    def claim(self) -> None:
        expected = self.expected_claims()
        claimed = self.queue.claim(self.limits, LEASE, "machine")

        assert sorted((j.course_name, j.module) for j in claimed) == sorted(expected)
        for job in claimed:
            row = self.rows[(job.course_name, job.module)]
            row.state, row.attempt = JobState.CLAIMED, row.attempt + 1
            row.not_before, row.lease = None, self.clock.now + timedelta(seconds=LEASE)
            assert job.attempt == row.attempt
        self.remember(*claimed)

    @precondition(lambda self: self.keys_in({JobState.CLAIMED}))
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(self.keys_in({JobState.CLAIMED})))
        job = self.db_jobs()[key]
        assert self.queue.mark_running(job, LEASE)
        row = self.rows[key]
        row.state, row.lease = JobState.RUNNING, self.clock.now + timedelta(seconds=LEASE)
        self.remember(job)

    @precondition(lambda self: self.keys_in(SLOT))
    @rule(data=st.data())
    def renew(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(self.keys_in(SLOT)))
        assert self.queue.renew(self.db_jobs()[key], LEASE)
        self.rows[key].lease = self.clock.now + timedelta(seconds=LEASE)

    @precondition(lambda self: self.keys_in(SLOT))
    @rule(data=st.data())
    def succeed(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(self.keys_in(SLOT)))
        job = self.db_jobs()[key]
        assert self.queue.succeed(job, {"ok": True})
        self.rows[key].state, self.rows[key].lease = JobState.SUCCEEDED, None
        self.remember(job)

    @precondition(lambda self: self.keys_in(SLOT))
    @rule(data=st.data(), rand=st.sampled_from([0.0, 0.25, 0.999]))
    def fail(self, data: st.DataObject, rand: float) -> None:
        key = data.draw(st.sampled_from(self.keys_in(SLOT)))
        job = self.db_jobs()[key]
        decision = decide_retry(job.attempt, job.max_attempts, BACKOFF_BASE, BACKOFF_CAP,
                                rand=lambda: rand)
        state = self.queue.fail_attempt(job, "Error", "exit code 1", decision)
        assert state is self.fail_in_model(key, rand)
        self.remember(job)

    @rule(seconds=st.integers(1, 45))
    def tick(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(rand=st.sampled_from([0.0, 0.5]))
    def expire_leases(self, rand: float) -> None:
        """What the sweep does for slot-holding jobs whose pod is gone and lease expired."""
        now = self.clock.now
        expired = [job for job in self.queue.slot_jobs()
                   if job.lease_expires_at is not None and job.lease_expires_at <= now]
        assert sorted((j.course_name, j.module) for j in expired) == sorted(
            key for key in self.keys_in(SLOT) if (lease := self.rows[key].lease) is not None
            and lease <= now)
        for job in expired:
            decision = decide_retry(job.attempt, job.max_attempts, BACKOFF_BASE, BACKOFF_CAP,
                                    rand=lambda: rand)
            state = self.queue.fail_attempt(job, "PodLost", "lease expired", decision)
            assert state is self.fail_in_model((job.course_name, job.module), rand)

    @rule(name=st.sampled_from(sorted(COURSES)))
    def cancel(self, name: str) -> None:
        cancelled = self.queue.cancel_course(f"uid-{name}")

        expected = [key for key in self.keys_in(LIVE) if key[0] == name]
        assert sorted((j.course_name, j.module) for j in cancelled) == expected
        for key in expected:
            self.rows[key].state, self.rows[key].lease = JobState.CANCELLED, None

    def stale_snapshots(self) -> list[Job]:
        """Snapshots of an attempt that is over (the row was claimed again since)."""
        return [job for job in self.snapshots
                if self.rows[(job.course_name, job.module)].attempt != job.attempt]

    @precondition(lambda self: self.snapshots)
    @rule(data=st.data(), op=st.sampled_from(["succeed", "fail", "start", "renew"]))
    def act_on_an_old_snapshot(self, data: st.DataObject, op: str) -> None:
        """A sweeper acting on a possibly stale read changes a row only if it is current."""
        self.act_on(data.draw(st.sampled_from(self.snapshots)), op)

    @precondition(lambda self: self.stale_snapshots())
    @rule(data=st.data(), op=st.sampled_from(["succeed", "fail", "start", "renew"]))
    def act_on_a_stale_snapshot(self, data: st.DataObject, op: str) -> None:
        self.act_on(data.draw(st.sampled_from(self.stale_snapshots())), op)

    def act_on(self, job: Job, op: str) -> None:
        key = (job.course_name, job.module)
        row = self.rows[key]
        allowed = {"succeed": SLOT, "fail": SLOT, "start": {JobState.CLAIMED},
                   "renew": {job.state}}[op]
        current = row.state in allowed and row.attempt == job.attempt
        if op == "succeed":
            assert self.queue.succeed(job, None) is current
            if current:
                row.state, row.lease = JobState.SUCCEEDED, None
        elif op == "fail":
            decision = decide_retry(job.attempt, row.max_attempts, BACKOFF_BASE, BACKOFF_CAP,
                                    rand=lambda: 0.0)
            state = self.queue.fail_attempt(job, "Error", "stale?", decision)
            assert state is (self.fail_in_model(key, 0.0) if current else None)
        elif op == "start":
            assert self.queue.mark_running(job, LEASE) is current
            if current:
                row.state, row.lease = JobState.RUNNING, self.clock.now + timedelta(
                    seconds=LEASE)
        else:
            assert self.queue.renew(job, LEASE) is current
            if current:
                row.lease = self.clock.now + timedelta(seconds=LEASE)

    # ------------------------------------------------------------ invariants

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        db = self.db_jobs()
        assert {k: (j.state, j.attempt) for k, j in db.items()} == {
            k: (r.state, r.attempt) for k, r in self.rows.items()}
        for key, row in self.rows.items():
            if row.state in LIVE:
                assert db[key].lease_expires_at == row.lease, key
                assert db[key].not_before == (
                    row.not_before if row.state is JobState.PENDING else None), key

    @invariant()
    def no_owner_and_no_total_exceeds_its_limit(self) -> None:
        usage = self.queue.slot_usage()
        assert usage.total <= self.limits.global_limit
        for owner, held in usage.per_owner.items():
            assert held <= self.limits.limit_for(owner), owner
        assert usage.per_owner == dict(
            Counter(row.owner for row in self.rows.values() if row.state in SLOT))


def test_random_operations_keep_the_database_and_the_model_in_step(
    engine: Engine, backend: str, run_long: bool,
) -> None:
    # One class name on every backend: derandomized runs then replay the same examples.
    examples = {"sqlite": 60, "postgresql": 50}[backend]
    machine = type("QueueMachine", (QueueMachine,), {"engine": engine})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples * 12 if run_long else examples,
        stateful_step_count=60 if run_long else 40,
        deadline=None, derandomize=not run_long, database=None,
        suppress_health_check=[HealthCheck.too_slow],
        # Shrinking a 40-step run against a database takes minutes; the default run
        # reports the failing steps as found, --run-long shrinks them.
        phases=list(Phase) if run_long else [Phase.explicit, Phase.generate],
    ))
