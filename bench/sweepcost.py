"""Sweep cost against table size (issue 8, item 4), and Kubernetes writes per sweep.

One full ``Sweeper.run_once`` on a steady table: the live Courses exist (bench.fakekube),
each with two running jobs whose pods are Running and four pending jobs (two thirds of the
non-terminal rows pending), all slots full so nothing is claimable; the terminal rows belong
to Courses long deleted (history). Reported: the wall time of the sweep, and its database
time (the sum of the statements' execution as the driver sees it). A second sweep of the
same state must make no status patch (nothing changed), and the first at most one per Course.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, text

from bench.common import Databases, Figure, fill_jobs, median
from bench.fakekube import FakeKube, course_body
from controller.config import Settings
from controller.db import Queue
from controller.db.engine import make_engine
from controller.pods import PodTemplate, build_pod
from controller.sweep import Sweeper


@contextmanager
def db_time(engine: Engine) -> Iterator[list[float]]:
    """Collects each statement's execution time (driver round trip included)."""
    spent: list[float] = []

    def before(conn: Any, *_: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, *_: Any) -> None:
        spent.append(time.perf_counter() - conn.info.pop("bench_t0"))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield spent
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def _prepare(dbs: Databases, live_courses: int, terminal_jobs: int) -> tuple[str, int]:
    name = dbs.create()
    engine = make_engine(dbs.sqlalchemy_url(name))
    try:
        if terminal_jobs:
            fill_jobs(engine, terminal_jobs // 6, 6, state="succeeded",
                      owner_offset=live_courses)
        fill_jobs(engine, live_courses, 6)
        with engine.begin() as conn:
            running = conn.execute(text(
                "UPDATE jobs SET state = 'running', attempt = 1, "
                "lease_expires_at = timezone('UTC', now()) + interval '1 hour', "
                "started_at = timezone('UTC', now()), claimed_at = timezone('UTC', now()) "
                "WHERE state = 'pending' AND module IN ('lesson-1', 'lesson-2')")).rowcount
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SET statement_timeout = 0"))
            conn.execute(text("VACUUM ANALYZE jobs"))
    finally:
        engine.dispose()
    return name, running


def _sweeper(queue: Queue, kube: FakeKube, running: int) -> Sweeper:
    settings = Settings(database_url="sqlite://", global_limit=max(1, running),
                        per_user_limit=3, metrics_port=0, health_port=0)
    return Sweeper(queue, kube, settings)  # type: ignore[arg-type]


def _cluster(queue: Queue, live_courses: int) -> FakeKube:
    kube = FakeKube()
    for index in range(live_courses):
        kube.courses[f"uid-{index}"] = course_body(index, 6)
    template = PodTemplate(image="worker", command=("course-worker",), args=(),
                           output_root="/tmp/out", timeout_seconds=3600, resources=None,
                           service_account=None)
    for job in queue.slot_jobs():
        pod = build_pod(job, template)
        pod["status"] = {"phase": "Running", "containerStatuses": [{"state": {"running": {}}}]}
        kube.pods[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = pod
    return kube


def one_size(dbs: Databases, live_courses: int, terminal_jobs: int,
             repeats: int) -> dict[str, Any]:
    name, running = _prepare(dbs, live_courses, terminal_jobs)
    queue = Queue(make_engine(dbs.sqlalchemy_url(name)))
    try:
        kube = _cluster(queue, live_courses)
        sweeper = _sweeper(queue, kube, running)
        first = sweeper.run_once()
        max_patches = max(kube.patches_per_course.values(), default=0)
        walls, dbs_ = [], []
        quiet_patches = 0
        for _ in range(repeats):
            kube.reset_counts()
            with db_time(queue.engine) as spent:
                started = time.perf_counter()
                result = sweeper.run_once()
                walls.append(time.perf_counter() - started)
            dbs_.append(sum(spent))
            quiet_patches += result.status_patches
        assert first.claimed == 0, first
        return {"wall": walls, "db": dbs_, "first_patches": first.status_patches,
                "max_patches_per_course": max_patches, "quiet_patches": quiet_patches,
                "live": live_courses * 6, "terminal": terminal_jobs}
    finally:
        queue.close()
        dbs.drop(name)


def sweep_cost(dbs: Databases, *, totals: list[int], terminal_series: list[int],
               fixed_live_courses: int, repeats: int) -> list[Figure]:
    figures: list[Figure] = []
    worst_per_course, quiet = 0, 0
    for total in totals:  # 90% terminal, the rest live
        live_courses = max(1, total // 10 // 6)
        m = one_size(dbs, live_courses, total - live_courses * 6, repeats)
        worst_per_course = max(worst_per_course, m["max_patches_per_course"])
        quiet += m["quiet_patches"]
        print(f"    sweep total={total:<8} live={m['live']:<6} wall="
              f"{median(m['wall']) * 1000:7.1f}ms db={median(m['db']) * 1000:7.1f}ms", flush=True)
        figures.append(Figure("sweep", f"one sweep, {total:,} jobs ({m['live']:,} live)",
                              median(m["wall"]) * 1000, "ms", [w * 1000 for w in m["wall"]],
                              note=f"db {median(m['db']) * 1000:.1f} ms; "
                              f"{median(m['wall']) * 1e6 / m['live']:.0f} us per live job"))
    base_db = None
    for terminal in terminal_series:  # the same live set, more and more history
        m = one_size(dbs, fixed_live_courses, terminal, repeats)
        quiet += m["quiet_patches"]
        db_ms = median(m["db"]) * 1000
        base_db = db_ms if base_db is None else base_db
        print(f"    sweep live={m['live']:<6} terminal={terminal:<8} wall="
              f"{median(m['wall']) * 1000:7.1f}ms db={db_ms:7.1f}ms", flush=True)
        figures.append(Figure(
            "sweep", f"one sweep, {m['live']:,} live + {terminal:,} terminal: db time", db_ms,
            "ms", [d * 1000 for d in m["db"]],
            note=f"wall {median(m['wall']) * 1000:.1f} ms; x{db_ms / base_db:.2f} of no history"))
    last = figures[-1]
    growth = last.value / base_db if base_db else float("nan")
    figures.append(Figure("sweep", f"sweep db time growth with {terminal_series[-1]:,} "
                          "terminal rows", growth, "x", target="~1 (flat in history)",
                          met=growth <= 1.5))
    figures.append(Figure("sweep", "status patches per Course per sweep (max)",
                          worst_per_course, "patches", target="<= 1",
                          met=worst_per_course <= 1))
    figures.append(Figure("sweep", "status patches in sweeps with nothing changed", quiet,
                          "patches", target="0", met=quiet == 0))
    return figures

