"""The job queue on SQLAlchemy Core: enqueue, claim, and every state transition.

Every transition is a conditional update on the state and attempt the caller read
(``WHERE state IN :seen AND attempt = :seen``): a sweeper acting on a stale snapshot changes
nothing. Every time comparison uses the database clock, read once per transaction, because
controller replicas' clocks may disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    RowMapping,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from controller.db.engine import make_engine
from controller.db.schema import UTCDateTime, jobs
from controller.decisions import Candidate, RetryDecision, RetryKind, plan_claims
from controller.model import LIVE_STATES, SLOT_STATES, Course, Job, JobState, SlotUsage
from controller.pods import pod_name

_LIVE = [s.value for s in LIVE_STATES]
_SLOTS = [s.value for s in SLOT_STATES]

Clock = Callable[[Connection], datetime]
# The time a write records: a value read from the clock, or an SQL expression of it.
Now = datetime | ColumnElement[datetime]


@dataclass(frozen=True)
class CourseDefaults:
    """Controller defaults a Course's rows take when its spec does not say."""

    max_attempts: int
    timeout_seconds: int


@dataclass(frozen=True)
class ClaimLimits:
    global_limit: int
    per_user_limit: int
    overrides: dict[str, int] = field(default_factory=dict)

    def limit_for(self, owner: str) -> int:
        return self.overrides.get(owner, self.per_user_limit)


@dataclass(frozen=True)
class SyncResult:
    """What one reconcile of a Course changed in the queue."""

    inserted: int
    cancelled: list[Job]


class Queue:
    """All database access of the controller. Methods are short transactions."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._clock = clock or self._database_clock
        # Single-statement calls (the claim) need no transaction of their own.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    @classmethod
    def from_url(cls, url: str, statement_timeout_ms: int = 10_000) -> Queue:
        return cls(make_engine(url, statement_timeout_ms))

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------ clock

    def _database_clock(self, conn: Connection) -> datetime:
        if self.sqlite:
            raw: object = conn.execute(
                text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
            return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
        # statement_timestamp(), not now(): the claim reads the clock after waiting for its
        # lock, and a lease must start when the claim really happens.
        value: object = conn.execute(text("SELECT statement_timestamp()")).scalar_one()
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def now(self) -> datetime:
        """The database's idea of now (or the injected clock's)."""
        with self.engine.connect() as conn:
            return self._clock(conn)

    @contextmanager
    def _one_statement(self) -> Iterator[tuple[Connection, Now]]:
        """A connection and the time for a write that is a single statement.

        On PostgreSQL the statement runs in autocommit (it is its own transaction: no BEGIN
        and COMMIT round trips) and, on the database clock, the time is an SQL expression the
        statement evaluates itself (no round trip to read the clock). On SQLite it is an
        immediate transaction that reads the clock first.
        """
        if self.sqlite:
            with self._transaction() as opened:
                yield opened
            return
        with self._autocommit.connect() as conn:
            yield conn, self._statement_time(conn)

    @contextmanager
    def _transaction(self) -> Iterator[tuple[Connection, Now]]:
        """A transaction and the time its writes record (as in ``_one_statement``; on
        PostgreSQL each statement's own start, a few microseconds apart)."""
        with self.engine.begin() as conn:
            yield conn, self._statement_time(conn)

    def _statement_time(self, conn: Connection) -> Now:
        if self.sqlite or self._clock != self._database_clock:
            return self._clock(conn)
        return _STATEMENT_TIME

    # ------------------------------------------------------------ enqueue

    def sync_course(self, course: Course, defaults: CourseDefaults) -> SyncResult:
        """Make the queue match a Course spec in one transaction.

        Inserts the modules that have no row (idempotent: existing rows are left alone),
        refreshes the per-Course settings on live rows, and cancels live rows of modules
        that left the spec.
        """
        with self.engine.begin() as conn:
            now = self._clock(conn)
            inserted = self._insert_missing(conn, course, defaults, now)
            self._refresh_settings(conn, course, defaults, now)
            cancelled = self._cancel_where(
                conn, now, "ModuleRemoved", "the module was removed from the Course",
                jobs.c.course_uid == course.ref.uid,
                jobs.c.module.not_in([m.name for m in course.spec.modules]),
            )
        return SyncResult(inserted=inserted, cancelled=cancelled)

    def _insert_missing(
        self, conn: Connection, course: Course, defaults: CourseDefaults, now: datetime,
    ) -> int:
        spec, ref = course.spec, course.ref
        rows = [{
            "course_uid": ref.uid, "namespace": ref.namespace, "course_name": ref.name,
            "module": module.name, "owner": spec.owner, "source": module.source,
            "priority": spec.priority, "suspended": spec.suspend, "state": "pending",
            "attempt": 0, "progress": 0,
            "max_attempts": spec.processor.max_attempts or defaults.max_attempts,
            "timeout_seconds": spec.processor.timeout_seconds or defaults.timeout_seconds,
            "created_at": now, "updated_at": now,
        } for module in spec.modules]
        insert = sqlite.insert if self.sqlite else postgresql.insert
        stmt = insert(jobs).values(rows).on_conflict_do_nothing(
            index_elements=["course_uid", "module"]).returning(jobs.c.id)
        return len(conn.execute(stmt).all())

    def _refresh_settings(
        self, conn: Connection, course: Course, defaults: CourseDefaults, now: datetime,
    ) -> None:
        """Carry spec edits onto live rows. The owner and the source move only with pending
        rows: a slot already held stays counted for the owner who had it until the attempt
        ends (an owner change never puts the new owner over its limit), and a running attempt
        finishes on the file it started with."""
        spec = course.spec
        values = {
            "priority": spec.priority, "suspended": spec.suspend,
            "max_attempts": spec.processor.max_attempts or defaults.max_attempts,
            "timeout_seconds": spec.processor.timeout_seconds or defaults.timeout_seconds,
        }
        changed = or_(*(jobs.c[name] != value for name, value in values.items()))
        conn.execute(update(jobs).where(
            jobs.c.course_uid == course.ref.uid, jobs.c.state.in_(_LIVE), changed,
        ).values(**values, updated_at=now))
        conn.execute(update(jobs).where(
            jobs.c.course_uid == course.ref.uid, jobs.c.state == JobState.PENDING.value,
            jobs.c.owner != spec.owner,
        ).values(owner=spec.owner, updated_at=now))
        wanted_source = case({m.name: m.source for m in spec.modules}, value=jobs.c.module,
                             else_=jobs.c.source)
        conn.execute(update(jobs).where(
            jobs.c.course_uid == course.ref.uid, jobs.c.state == JobState.PENDING.value,
            jobs.c.source != wanted_source,
        ).values(source=wanted_source, updated_at=now))

    # ------------------------------------------------------------ cancel

    def cancel_course(self, course_uid: str, reason: str = "CourseDeleted") -> list[Job]:
        """Cancel every live job of a Course; returns them (their pods must go)."""
        with self.engine.begin() as conn:
            return self._cancel_where(conn, self._clock(conn), reason,
                                      "the Course was deleted", jobs.c.course_uid == course_uid)

    def _cancel_where(
        self, conn: Connection, now: datetime, reason: str, message: str, *where: Any,
    ) -> list[Job]:
        stmt = update(jobs).where(*where, jobs.c.state.in_(_LIVE)).values(
            state=JobState.CANCELLED.value, reason=reason, message=message,
            finished_at=now, updated_at=now, lease_expires_at=None,
        ).returning(*jobs.c)
        return [_to_job(row) for row in conn.execute(stmt).mappings()]

    # ------------------------------------------------------------ claim

    def slot_usage(self) -> SlotUsage:
        with self.engine.begin() as conn:
            return self._slot_usage(conn)

    def _slot_usage(self, conn: Connection) -> SlotUsage:
        rows = conn.execute(
            select(jobs.c.owner, func.count()).where(jobs.c.state.in_(_SLOTS))
            .group_by(jobs.c.owner))
        return SlotUsage(per_owner={str(row[0]): int(row[1]) for row in rows})

    def claim(
        self, limits: ClaimLimits, lease_seconds: float, claimer: str, *,
        max_batch: int | None = None,
    ) -> list[Job]:
        """Claim as many pending jobs as both limits allow (at most ``max_batch``), atomically.

        The slot count, the choice and the update happen under one serialization point (an
        advisory transaction lock on PostgreSQL, BEGIN IMMEDIATE on SQLite); row locks alone
        would let two claimers both read "2 running" and both take a third. On PostgreSQL
        the whole claim is one call of the ``course_claim`` function (migration 0003) in
        autocommit: one round trip, the lock held for no longer than the claim itself. The
        claimed jobs come back in claim order (fairness order).
        """
        if self.sqlite:
            return self._claim_in_transaction(limits, lease_seconds, claimer, max_batch)
        with self._autocommit.connect() as conn:
            at = None if self._clock == self._database_clock else self._clock(conn)
            rows = conn.execute(_CLAIM_CALL, {
                "global_limit": limits.global_limit, "per_user_limit": limits.per_user_limit,
                "overrides": json.dumps(limits.overrides), "max_batch": max_batch,
                "lease_seconds": lease_seconds, "claimer": claimer, "claim_at": at,
            })
            return [_to_job(row) for row in rows.mappings()]

    def _claim_in_transaction(
        self, limits: ClaimLimits, lease_seconds: float, claimer: str, max_batch: int | None,
    ) -> list[Job]:
        """The claim on SQLite: the same choice as ``course_claim``, made in Python inside
        one immediate transaction (the database file's write lock is the serialization)."""
        with self.engine.begin() as conn:
            now = self._clock(conn)
            usage = self._slot_usage(conn)
            free = limits.global_limit - usage.total
            if max_batch is not None:
                free = min(free, max_batch)
            if free <= 0:
                return []
            candidates = self._candidates(conn, limits, free, now, len(usage.per_owner))
            chosen = plan_claims(candidates.values(), usage, limits.global_limit,
                                 limits.limit_for)[:free]
            return self._claim_chosen(conn, chosen, now,
                                      now + timedelta(seconds=lease_seconds), claimer)

    def _candidates(
        self, conn: Connection, limits: ClaimLimits, free: int, now: datetime,
        holders: int = 0,
    ) -> dict[int, Candidate]:
        """The claimable jobs that could get a slot now, best first (at most ``free``).

        Only a prefix of the pending rows in claim order (priority, age: the ``ix_jobs_claim``
        index) is ranked, so the cost follows the free slots, not the backlog. Ranking a
        prefix is exact for its rows (an owner's rows in a global-order prefix are that
        owner's first rows), and no row past the prefix can beat a candidate in an owner's
        first slot; so the answer is final when ``free`` candidates are first slots, or when
        the prefix holds every pending row. Otherwise the prefix grows. The first prefix
        allows for the queued rows of the owners already holding slots (``holders``), which
        are the oldest and so crowd the front.
        """
        prefix = max(64, 8 * (free + holders))
        while True:
            bounded = prefix <= 1_000_000
            rows, scanned = self._ranked_prefix(conn, limits, free, now,
                                                prefix if bounded else None)
            exhaustive = not bounded or scanned < prefix
            if exhaustive or (len(rows) >= free and all(row.slot == 1 for row in rows)):
                break
            prefix *= 8
        return {row.id: Candidate(job_id=row.id, owner=row.owner, priority=row.priority,
                                  created_at=row.created_at, attempt=row.attempt)
                for row in rows}

    def _ranked_prefix(
        self, conn: Connection, limits: ClaimLimits, free: int, now: datetime,
        prefix: int | None,
    ) -> tuple[list[Any], int]:
        """Rank the first ``prefix`` claimable rows (all of them when None); returns the best
        ``free`` of them with their slot, and how many rows were ranked."""
        head = select(jobs.c.id, jobs.c.owner, jobs.c.priority, jobs.c.created_at,
                      jobs.c.attempt).where(
            jobs.c.state == JobState.PENDING.value,
            jobs.c.suspended == False,  # noqa: E712 (SQL expression)
            or_(jobs.c.not_before.is_(None), jobs.c.not_before <= now),
        ).order_by(jobs.c.priority.desc(), jobs.c.created_at, jobs.c.id)
        head_sq = (head.limit(prefix) if prefix is not None else head).subquery()
        rank = func.row_number().over(
            partition_by=head_sq.c.owner,
            order_by=(head_sq.c.priority.desc(), head_sq.c.created_at, head_sq.c.id),
        ).label("rk")
        ranked = select(head_sq, rank, func.count().over().label("scanned")).subquery()
        held = select(jobs.c.owner, func.count().label("n")).where(
            jobs.c.state.in_(_SLOTS)).group_by(jobs.c.owner).subquery()
        slot = (ranked.c.rk + func.coalesce(held.c.n, 0)).label("slot")
        limit_expr: Any = (case(limits.overrides, value=ranked.c.owner,
                                else_=limits.per_user_limit)
                           if limits.overrides else literal(limits.per_user_limit))
        stmt = (select(ranked.c.id, ranked.c.owner, ranked.c.priority,
                       ranked.c.created_at, ranked.c.attempt, slot, ranked.c.scanned)
                .select_from(ranked.outerjoin(held, held.c.owner == ranked.c.owner))
                .where(slot <= limit_expr)
                .order_by(slot, ranked.c.priority.desc(), ranked.c.created_at, ranked.c.id)
                .limit(free))
        rows = list(conn.execute(stmt))
        if rows:
            return rows, int(rows[0].scanned)
        if prefix is None:
            return rows, 0
        # No candidate at all in the prefix: was it full? (then the rest must be looked at)
        counted = conn.execute(select(func.count()).select_from(head.limit(prefix).subquery()))
        return rows, int(counted.scalar_one())

    def _claim_chosen(
        self, conn: Connection, chosen: list[Candidate], now: datetime, lease: datetime,
        claimer: str,
    ) -> list[Job]:
        """One conditional update for the whole choice: a row that left ``pending`` or moved
        to another attempt since it was read is skipped."""
        if not chosen:
            return []
        stmt = update(jobs).where(
            _on_attempts((c.job_id, c.attempt) for c in chosen),
            jobs.c.state == JobState.PENDING.value,
        ).values(
            state=JobState.CLAIMED.value, attempt=jobs.c.attempt + 1, claimed_at=now,
            lease_expires_at=lease, claimed_by=claimer, progress=0, not_before=None,
            reason=None, message=None, updated_at=now,
        ).returning(*jobs.c)
        claimed = {job.id: job for job in map(_to_job, conn.execute(stmt).mappings())}
        return [claimed[c.job_id] for c in chosen if c.job_id in claimed]

    # ------------------------------------------------------------ transitions

    def mark_running(self, job: Job, lease_seconds: float, progress: int | None = None) -> bool:
        """claimed -> running, once its pod exists."""
        def values(now: Now) -> dict[str, Any]:
            return {"state": JobState.RUNNING.value, "started_at": now,
                    "lease_expires_at": now + timedelta(seconds=lease_seconds),
                    **({"progress": progress} if progress is not None else {})}
        return self._transition(job, [JobState.CLAIMED], values)

    def renew(self, job: Job, lease_seconds: float, progress: int | None = None) -> bool:
        """Extend the lease of a job whose pod was seen alive; copy its progress."""
        def values(now: Now) -> dict[str, Any]:
            extra = {"progress": max(0, min(99, progress))} if progress is not None else {}
            return {"lease_expires_at": now + timedelta(seconds=lease_seconds), **extra}
        return self._transition(job, [job.state], values)

    def renew_many(self, renewals: Sequence[tuple[Job, int | None]], lease_seconds: float,
                   ) -> int:
        """Extend the leases of every job whose pod was seen alive, in one transaction (a
        statement per 500 leases, plus one per job whose progress moved): the sweep's cost
        must not grow by a transaction per running module. Returns the leases extended."""
        if not renewals:
            return 0
        with self._transaction() as (conn, now):
            lease, extended = now + timedelta(seconds=lease_seconds), 0
            keys = [(job.id, job.attempt) for job, _ in renewals]
            for start in range(0, len(keys), 500):
                extended += conn.execute(update(jobs).where(
                    _on_attempts(keys[start:start + 500]),
                    jobs.c.state.in_(_SLOTS),
                ).values(lease_expires_at=lease, updated_at=now)).rowcount
            for job, progress in renewals:
                moved = None if progress is None else max(0, min(99, progress))
                if moved is not None and moved != job.progress:
                    conn.execute(update(jobs).where(
                        jobs.c.id == job.id, jobs.c.attempt == job.attempt,
                        jobs.c.state.in_(_SLOTS),
                    ).values(progress=moved))
            return extended

    def condemn(self, job: Job, reason: str, message: str) -> bool:
        """Record why a slot-holding attempt is being ended; the job keeps its slot until
        its pod is gone (the reason is then the attempt's failure reason)."""
        def values(_now: Now) -> dict[str, Any]:
            return {"reason": reason[:64], "message": message[:2000]}
        return self._transition(job, [JobState.CLAIMED, JobState.RUNNING], values)

    def succeed(self, job: Job, result: dict[str, Any] | None) -> bool:
        def values(now: Now) -> dict[str, Any]:
            return {"state": JobState.SUCCEEDED.value, "progress": 100, "result": result,
                    "finished_at": now, "lease_expires_at": None, "reason": None,
                    "message": None}
        return self._transition(job, [JobState.CLAIMED, JobState.RUNNING], values)

    def succeed_many(self, items: Iterable[tuple[Job, dict[str, Any] | None]]) -> set[int]:
        """``succeed`` for many jobs, one statement per distinct result; returns the ids that
        moved (a job another sweeper already settled, or on another attempt, is left
        alone)."""
        by_result: dict[str, list[Job]] = {}
        results: dict[str, dict[str, Any] | None] = {}
        for job, result in items:
            key = repr(sorted(result.items())) if result else ""
            by_result.setdefault(key, []).append(job)
            results[key] = result
        moved: set[int] = set()
        with self._one_statement() as (conn, now):
            for key, group in by_result.items():
                stmt = update(jobs).where(
                    _on_attempts((j.id, j.attempt) for j in group),
                    jobs.c.state.in_(_SLOTS),
                ).values(
                    state=JobState.SUCCEEDED.value, progress=100, result=results[key],
                    finished_at=now, lease_expires_at=None, reason=None, message=None,
                    updated_at=now,
                ).returning(jobs.c.id)
                moved.update(int(row[0]) for row in conn.execute(stmt))
        return moved

    def fail_attempt(
        self, job: Job, reason: str, message: str, decision: RetryDecision,
    ) -> JobState | None:
        """Record a failed attempt: back to pending after a backoff, or failed for good.

        Returns the new state, or None when the row had already moved on (stale read).
        """
        retry = decision.kind is RetryKind.RETRY
        new_state = JobState.PENDING if retry else JobState.FAILED

        def values(now: Now) -> dict[str, Any]:
            common = {"state": new_state.value, "reason": reason[:64],
                      "message": message[:2000], "lease_expires_at": None}
            if retry:
                return {**common, "progress": 0,
                        "not_before": now + timedelta(seconds=decision.delay)}
            return {**common, "finished_at": now}
        ok = self._transition(job, [JobState.CLAIMED, JobState.RUNNING], values)
        return new_state if ok else None

    def _transition(
        self, job: Job, seen: Collection[JobState],
        values: Callable[[Now], dict[str, Any]],
    ) -> bool:
        with self._one_statement() as (conn, now):
            result = conn.execute(update(jobs).where(
                jobs.c.id == job.id, jobs.c.state.in_([s.value for s in seen]),
                jobs.c.attempt == job.attempt,
            ).values(**values(now), updated_at=now))
            return result.rowcount == 1

    # ------------------------------------------------------------ reads

    def oldest_claimable_waits(self) -> dict[str, float]:
        """Per owner, seconds its oldest claimable job (pending, not suspended, not in backoff)
        has waited by the database clock: from enqueue, or from the end of its backoff."""
        with self._one_statement() as (conn, now):
            since = func.min(func.coalesce(jobs.c.not_before, jobs.c.created_at),
                             type_=jobs.c.created_at.type)
            at = now if isinstance(now, ColumnElement) else literal(now, UTCDateTime())
            rows = conn.execute(select(jobs.c.owner, since, at).where(
                jobs.c.state == JobState.PENDING.value,
                jobs.c.suspended == False,  # noqa: E712 (SQL expression)
                or_(jobs.c.not_before.is_(None), jobs.c.not_before <= now),
            ).group_by(jobs.c.owner))
            waits: dict[str, float] = {}
            for owner, since_at, now_at in rows:
                assert isinstance(since_at, datetime) and isinstance(now_at, datetime)
                waits[str(owner)] = (now_at - since_at).total_seconds()
            return waits

    def live_counts(self) -> dict[JobState, int]:
        """Live rows per state, counted in the database (the gauges need no rows)."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(jobs.c.state, func.count()).where(
                jobs.c.state.in_(_LIVE)).group_by(jobs.c.state))
            return {JobState(str(row[0])): int(row[1]) for row in rows}

    def slot_jobs(self) -> list[Job]:
        """Every slot-holding job (the sweep compares them with their pods)."""
        return self._select(jobs.c.state.in_(_SLOTS))

    def live_jobs(self) -> list[Job]:
        return self._select(jobs.c.state.in_(_LIVE))

    def jobs_of_courses(self, course_uids: Iterable[str]) -> dict[str, list[Job]]:
        """All rows of the given Courses, grouped by Course uid."""
        grouped: dict[str, list[Job]] = {}
        uids = list(course_uids)
        for start in range(0, len(uids), 500):
            for job in self._select(jobs.c.course_uid.in_(uids[start:start + 500])):
                grouped.setdefault(job.course_uid, []).append(job)
        return grouped

    def live_course_uids(self) -> set[str]:
        with self.engine.begin() as conn:
            rows = conn.execute(select(jobs.c.course_uid).where(
                jobs.c.state.in_(_LIVE)).distinct())
            return {row[0] for row in rows}

    def get(self, job_id: int) -> Job | None:
        found = self._select(jobs.c.id == job_id)
        return found[0] if found else None

    def _select(self, *where: Any) -> list[Job]:
        with self.engine.begin() as conn:
            rows = conn.execute(select(jobs).where(and_(*where)).order_by(jobs.c.id))
            return [_to_job(row) for row in rows.mappings()]


# The time of a one-statement write on PostgreSQL, by the database clock (naive UTC, as stored).
_STATEMENT_TIME: ColumnElement[datetime] = func.timezone(
    "UTC", func.statement_timestamp(), type_=UTCDateTime())

# The claim on PostgreSQL (see migration 0003): every column of the claimed rows, in order.
_CLAIM_CALL = text(
    f"SELECT {', '.join(jobs.c.keys())} FROM course_claim(:global_limit, :per_user_limit, "
    "CAST(:overrides AS jsonb), CAST(:max_batch AS integer), :lease_seconds, :claimer, "
    "CAST(:claim_at AS timestamp))"
).bindparams(bindparam("claim_at", type_=UTCDateTime())).columns(*jobs.c)


def _on_attempts(keys: Iterable[tuple[int, int]]) -> ColumnElement[bool]:
    """The rows with these (id, attempt) pairs: one ``attempt = a AND id IN (...)`` per
    distinct attempt (a batch is mostly on one attempt). A list of row comparisons would
    cost PostgreSQL a filter of every pair on every row, and SQLAlchemy a bound pair each."""
    by_attempt: dict[int, list[int]] = {}
    for job_id, attempt in keys:
        by_attempt.setdefault(attempt, []).append(job_id)
    return or_(*(and_(jobs.c.attempt == attempt, jobs.c.id.in_(ids))
                 for attempt, ids in sorted(by_attempt.items())))


def _to_job(row: RowMapping) -> Job:
    state = JobState(row["state"])
    attempt = int(row["attempt"])
    pod = pod_name(row["course_name"], row["module"], attempt) if attempt > 0 else None
    return Job(
        id=int(row["id"]), course_uid=row["course_uid"], namespace=row["namespace"],
        course_name=row["course_name"], module=row["module"], owner=row["owner"],
        source=row["source"], state=state, attempt=attempt,
        max_attempts=int(row["max_attempts"]), priority=int(row["priority"]),
        suspended=bool(row["suspended"]), pod_name=pod, progress=int(row["progress"]),
        reason=row["reason"], message=row["message"], result=row["result"],
        not_before=row["not_before"], lease_expires_at=row["lease_expires_at"],
        created_at=row["created_at"], claimed_at=row["claimed_at"],
        started_at=row["started_at"], finished_at=row["finished_at"],
    )
