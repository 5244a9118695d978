"""Claim throughput (issue 8, item 1), claim latency against table size, slot freed -> claimed.

Every system works off the same backlog shape (10,000 owners x 6 modules pending, global
limit 500) and processes the same number of jobs, on the same server, in the same process:

- ``raw``: the physical ceiling of a queue on this table: one ``UPDATE ... FOR UPDATE SKIP
  LOCKED LIMIT batch`` and one ``UPDATE ... WHERE id = ANY`` per batch, plain psycopg, no
  limits at all;
- ``ours-limited``: ``Queue.claim`` under the global limit 500 and the per-user limit 3,
  then ``Queue.succeed_many`` (the conditional succeeded transition, batched);
- ``ours-plain``: the same path with the per-user limit out of reach (global limit only);
- ``pgqueuer``: PgQueuer's own ``Queries.dequeue`` with its global concurrency limit 500,
  then ``Queries.log_jobs`` (its completion path), psycopg driver;
- ``procrastinate``: Procrastinate's own worker (``run_worker_async``, ``wait=False``)
  draining the same number of jobs of a no-op task.

Each claimer is a thread with its own engine (ours, raw) or an asyncio task with its own
connection (PgQueuer), as separate replicas would be. A sampler checks, every 20 ms on its
own connection, that no owner ever holds more than its limit and that the total stays
within the global limit.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from sqlalchemy import text

from bench.common import Databases, Figure, fill_jobs, median, percentile
from controller.db import ClaimLimits, Queue
from controller.db.engine import make_engine

GLOBAL_LIMIT = 500
PER_USER_LIMIT = 3
UNLIMITED = 1_000_000
LEASE = 600.0


@dataclass
class Run:
    jobs: int
    seconds: float
    claim_latencies: list[float] = field(default_factory=list)
    max_owner: int = 0
    max_total: int = 0
    violations: int = 0

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds if self.seconds else 0.0


class LimitSampler(threading.Thread):
    """Polls the slot-holding rows: the most any owner held, the most held in total."""

    def __init__(self, dsn: str, per_user: int, global_limit: int) -> None:
        super().__init__(daemon=True)
        self.dsn, self.per_user, self.global_limit = dsn, per_user, global_limit
        self.max_owner = self.max_total = self.violations = self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._halt.is_set():
                row = conn.execute(
                    "SELECT coalesce(max(n), 0), coalesce(sum(n), 0) FROM (SELECT count(*) n"
                    " FROM jobs WHERE state IN ('claimed', 'running') GROUP BY owner) s"
                ).fetchone()
                assert row is not None
                owner, total = int(row[0]), int(row[1])
                self.max_owner, self.max_total = max(self.max_owner, owner), max(
                    self.max_total, total)
                if owner > self.per_user or total > self.global_limit:
                    self.violations += 1
                self.samples += 1
                self._halt.wait(0.02)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def _run_threads(claimers: int, target: int, work: Callable[[int, Counter], None]) -> float:
    """Start ``claimers`` threads on ``work`` together; seconds until ``target`` jobs done."""
    counter = Counter(target)
    barrier = threading.Barrier(claimers + 1)

    def body(index: int) -> None:
        barrier.wait()
        work(index, counter)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(claimers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    counter.done_event.wait(300)
    elapsed = time.perf_counter() - started
    counter.stop = True
    for thread in threads:
        thread.join(60)
    return elapsed


class Counter:
    """Jobs done so far, shared by the claimers; set when the target is reached."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.value = 0
        self.stop = False
        self.lock = threading.Lock()
        self.done_event = threading.Event()

    def add(self, n: int) -> None:
        with self.lock:
            self.value += n
            if self.value >= self.target:
                self.stop = True
                self.done_event.set()


# ---------------------------------------------------------------- ours


def run_ours(dbs: Databases, name: str, claimers: int, batch: int, target: int,
             per_user: int) -> Run:
    url = dbs.sqlalchemy_url(name)
    queues = [Queue(make_engine(url)) for _ in range(claimers)]
    limits = ClaimLimits(GLOBAL_LIMIT, per_user)
    latencies: list[float] = []

    def work(index: int, counter: Counter) -> None:
        queue = queues[index]
        while not counter.stop:
            started = time.perf_counter()
            jobs = _claim(queue, limits, f"bench-{index}", batch)
            latencies.append(time.perf_counter() - started)
            if not jobs:
                time.sleep(0.0005)
                continue
            _complete(queue, jobs)
            counter.add(len(jobs))

    sampler = LimitSampler(dbs.psycopg_dsn(name), per_user, GLOBAL_LIMIT)
    sampler.start()
    try:
        seconds = _run_threads(claimers, target, work)
    finally:
        sampler.stop()
        for queue in queues:
            queue.close()
    done = _count_done(dbs.psycopg_dsn(name))
    return Run(done, seconds, latencies, sampler.max_owner, sampler.max_total,
               sampler.violations)


def _claim(queue: Queue, limits: ClaimLimits, claimer: str, batch: int) -> list[Any]:
    """``claim(max_batch=)`` where the queue has it (an older queue claims every free slot,
    which is how the figures before the optimisation were taken)."""
    try:
        return queue.claim(limits, LEASE, claimer, max_batch=batch)
    except TypeError:
        return queue.claim(limits, LEASE, claimer)


def _complete(queue: Queue, jobs: list[Any]) -> None:
    many = getattr(queue, "succeed_many", None)
    if many is not None:
        many([(job, None) for job in jobs])
    else:
        for job in jobs:
            queue.succeed(job, None)


def _count_done(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM jobs WHERE state = 'succeeded'").fetchone()
        assert row is not None
        return int(row[0])


# ---------------------------------------------------------------- raw ceiling

RAW_CLAIM = """
UPDATE jobs SET state = 'claimed', attempt = attempt + 1, claimed_at = now()
WHERE id IN (SELECT id FROM jobs WHERE state = 'pending'
             ORDER BY priority DESC, created_at, id LIMIT %s FOR UPDATE SKIP LOCKED)
RETURNING id
"""
RAW_DONE = "UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE id = ANY(%s)"


def run_raw(dbs: Databases, name: str, claimers: int, batch: int, target: int) -> Run:
    dsn = dbs.psycopg_dsn(name)
    conns = [psycopg.connect(dsn, autocommit=True) for _ in range(claimers)]

    def work(index: int, counter: Counter) -> None:
        conn = conns[index]
        while not counter.stop:
            ids = [row[0] for row in conn.execute(RAW_CLAIM, (batch,)).fetchall()]
            if ids:
                conn.execute(RAW_DONE, (ids,))
                counter.add(len(ids))

    try:
        seconds = _run_threads(claimers, target, work)
    finally:
        for conn in conns:
            conn.close()
    return Run(_count_done(dsn), seconds)


# ---------------------------------------------------------------- PgQueuer


def run_pgqueuer(dbs: Databases, claimers: int, batch: int, target: int, backlog: int) -> Run:
    from pgqueuer.queries import EntrypointExecutionParameter, Queries

    name = dbs.create(migrate=False)
    dsn = dbs.psycopg_dsn(name)

    async def main() -> Run:
        setup = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        queries = Queries.from_psycopg_connection(setup)
        await queries.install()
        for start in range(0, backlog, 10_000):
            n = min(10_000, backlog - start)
            await queries.enqueue(["module"] * n, [None] * n, [0] * n)
        await setup.close()
        conns = [await psycopg.AsyncConnection.connect(dsn, autocommit=True)
                 for _ in range(claimers)]
        done = 0
        finished = asyncio.Event()
        entry = {"module": EntrypointExecutionParameter(concurrency_limit=0)}

        async def worker(conn: psycopg.AsyncConnection[Any]) -> None:
            nonlocal done
            q = Queries.from_psycopg_connection(conn)
            qm_id = uuid.uuid4()
            while not finished.is_set():
                jobs = await q.dequeue(batch_size=batch, entrypoints=entry,  # type: ignore[arg-type]
                                       queue_manager_id=qm_id,  # type: ignore[arg-type]
                                       global_concurrency_limit=GLOBAL_LIMIT,
                                       heartbeat_timeout=timedelta(seconds=60))
                if not jobs:
                    await asyncio.sleep(0.0005)
                    continue
                await q.log_jobs([(job, "successful", None) for job in jobs])
                done += len(jobs)
                if done >= target:
                    finished.set()

        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        seconds = time.perf_counter() - started
        for conn in conns:
            await conn.close()
        return Run(done, seconds)

    try:
        return asyncio.run(main())
    finally:
        dbs.drop(name)


# ---------------------------------------------------------------- Procrastinate


def run_procrastinate(dbs: Databases, concurrency: int, target: int) -> Run:
    import procrastinate

    name = dbs.create(migrate=False)
    dsn = dbs.psycopg_dsn(name)

    async def main() -> Run:
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(
            conninfo=dsn, min_size=1, max_size=concurrency + 2))

        @app.task(name="module")
        async def module() -> None:
            return None

        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            for start in range(0, target, 1000):
                await module.batch_defer_async(*([{}] * min(1000, target - start)))
            started = time.perf_counter()
            await app.run_worker_async(concurrency=concurrency, wait=False,
                                       install_signal_handlers=False, listen_notify=False,
                                       delete_jobs="never")
            seconds = time.perf_counter() - started
            async with app.connector.pool.connection() as conn:  # type: ignore[attr-defined]
                cur = await conn.execute(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'")
                row = await cur.fetchone()
        return Run(int(row[0]), seconds)

    try:
        return asyncio.run(main())
    finally:
        dbs.drop(name)


# ---------------------------------------------------------------- the matrix


def _fresh_backlog(dbs: Databases, owners: int) -> str:
    name = dbs.create()
    engine = make_engine(dbs.sqlalchemy_url(name))
    try:
        fill_jobs(engine, owners, 6)
    finally:
        engine.dispose()
    return name


def throughput(dbs: Databases, *, claimers_list: list[int], batches: list[int], target: int,
               repeats: int, owners: int, procrastinate_jobs: int) -> list[Figure]:
    figures: list[Figure] = []
    rates: dict[tuple[str, int, int], list[float]] = {}
    worst_owner = worst_total = violations = 0

    def record(system: str, claimers: int, batch: int, run: Run) -> None:
        rates.setdefault((system, claimers, batch), []).append(run.rate)
        print(f"    {system:14} claimers={claimers:<2} batch={batch:<3} "
              f"{run.jobs:6} jobs {run.seconds:6.2f}s {run.rate:8.0f}/s", flush=True)

    for _ in range(repeats):
        for claimers in claimers_list:
            for batch in batches:
                for system in ("raw", "ours-limited", "ours-plain"):
                    name = _fresh_backlog(dbs, owners)
                    try:
                        if system == "raw":
                            run = run_raw(dbs, name, claimers, batch, target)
                        else:
                            per_user = PER_USER_LIMIT if system == "ours-limited" else UNLIMITED
                            run = run_ours(dbs, name, claimers, batch, target, per_user)
                            if system == "ours-limited":
                                worst_owner = max(worst_owner, run.max_owner)
                                worst_total = max(worst_total, run.max_total)
                                violations += run.violations
                    finally:
                        dbs.drop(name)
                    record(system, claimers, batch, run)
                record("pgqueuer", claimers, batch,
                       run_pgqueuer(dbs, claimers, batch, target, owners * 6))
            if procrastinate_jobs:
                record("procrastinate", claimers, 1,
                       run_procrastinate(dbs, claimers, procrastinate_jobs))

    for (system, claimers, batch), values in sorted(rates.items()):
        figures.append(Figure("claim", f"{system} c={claimers} b={batch}", median(values),
                              "jobs/s", values))
    figures += _ratios(rates, claimers_list, batches)
    figures.append(Figure(
        "claim", "limit violations (sampled)", violations, "samples",
        target="0 (never an owner over 3, never over 500)", met=violations == 0,
        note=f"max held per owner {worst_owner}, max total {worst_total}"))
    return figures


def _ratios(rates: dict[tuple[str, int, int], list[float]], claimers_list: list[int],
            batches: list[int]) -> list[Figure]:
    figures = []
    for claimers in claimers_list:
        proc = median(rates.get(("procrastinate", claimers, 1), []))
        for batch in batches:
            ours = median(rates[("ours-limited", claimers, batch)])
            plain = median(rates[("ours-plain", claimers, batch)])
            pgq = median(rates[("pgqueuer", claimers, batch)])
            raw = median(rates[("raw", claimers, batch)])
            tag = f"c={claimers} b={batch}"
            figures += [
                Figure("claim", f"ours-limited / pgqueuer {tag}", ours / pgq, "x",
                       target=">= 1.5", met=ours / pgq >= 1.5),
                Figure("claim", f"ours-plain / pgqueuer {tag}", plain / pgq, "x"),
                Figure("claim", f"ours-limited / raw {tag}", ours / raw, "x",
                       target=">= 0.25", met=ours / raw >= 0.25),
            ]
            if proc == proc:  # not NaN
                figures.append(Figure("claim", f"ours-limited / procrastinate {tag}",
                                      ours / proc, "x", target=">= 5", met=ours / proc >= 5))
    return figures


# ---------------------------------------------------------------- latency


def claim_latency(dbs: Databases, *, owner_counts: list[int], batch: int, calls: int,
                  repeats: int) -> list[Figure]:
    """p95 of one claim call (one claimer, claim + succeed loop) at each table size."""
    p95s: dict[int, list[float]] = {}
    for _ in range(repeats):
        for owners in owner_counts:
            name = _fresh_backlog(dbs, owners)
            try:
                run = run_ours(dbs, name, 1, batch, calls * batch, PER_USER_LIMIT)
            finally:
                dbs.drop(name)
            p95 = percentile(run.claim_latencies, 95) * 1000
            p95s.setdefault(owners, []).append(p95)
            print(f"    latency owners={owners:<6} rows={owners * 6:<7} p50="
                  f"{percentile(run.claim_latencies, 50) * 1000:.2f}ms p95={p95:.2f}ms",
                  flush=True)
    figures = [Figure("latency", f"claim p95 at {owners * 6:,} rows (batch {batch})",
                      median(v), "ms", v) for owners, v in sorted(p95s.items())]
    small, large = min(p95s), max(p95s)
    growth = median(p95s[large]) / median(p95s[small])
    figures.append(Figure("latency", f"claim p95 growth {small * 6:,} -> {large * 6:,} rows",
                          growth, "x", target="<= 1.5", met=growth <= 1.5))
    return figures


def slot_to_claim(dbs: Databases, *, owners: int, samples: int) -> list[Figure]:
    """Global limit full; free one slot (succeed) and time until the next job is claimed."""
    name = _fresh_backlog(dbs, owners)
    queue = Queue(make_engine(dbs.sqlalchemy_url(name)))
    limits = ClaimLimits(GLOBAL_LIMIT, PER_USER_LIMIT)
    gaps: list[float] = []
    try:
        held = queue.claim(limits, LEASE, "bench")
        for _ in range(samples):
            job = held.pop(0)
            queue.succeed(job, None)
            freed = time.perf_counter()
            claimed = queue.claim(limits, LEASE, "bench")
            gaps.append((time.perf_counter() - freed) * 1000)
            assert len(claimed) == 1, claimed
            held += claimed
        with queue.engine.connect() as conn:
            total = conn.execute(text(
                "SELECT count(*) FROM jobs WHERE state IN ('claimed', 'running')")).scalar()
        assert total == GLOBAL_LIMIT, total
    finally:
        queue.close()
        dbs.drop(name)
    p50 = percentile(gaps, 50)
    return [Figure("slot", "slot freed -> next job claimed (db), p50", p50, "ms", gaps[:50],
                   target="< 5 ms", met=p50 < 5,
                   note=f"p95 {percentile(gaps, 95):.2f} ms, {owners * 6:,} rows")]
