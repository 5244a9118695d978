"""Enqueue (issue 8, item 2): a 1,000-module Course, and 1,000 Courses of 6 at once.

Both go through ``Reconciler.reconcile`` (what the kopf create handler calls) on a fresh
database, with the Kubernetes side counted by a fake (bench.fakekube). "All rows committed"
is when the reconcile call returns: its one transaction has committed. The burst runs the
reconciles on 4 threads, as kopf runs handlers in worker threads, and counts the rows.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from bench.common import Databases, Figure, median
from bench.fakekube import FakeKube, course_body
from controller.db import CourseDefaults
from controller.reconcile import Reconciler

DEFAULTS = CourseDefaults(max_attempts=3, timeout_seconds=3600)


def big_course(dbs: Databases, *, modules: int, repeats: int) -> list[Figure]:
    seconds, rewrites = [], []
    for _ in range(repeats):
        with dbs.queue() as queue:
            kube = FakeKube()
            reconciler = Reconciler(queue, kube, DEFAULTS)  # type: ignore[arg-type]
            body = course_body(0, modules)
            started = time.perf_counter()
            reconciler.reconcile(body)
            seconds.append(time.perf_counter() - started)
            with queue.engine.connect() as conn:
                rows: int = conn.execute(text("SELECT count(*) FROM jobs")).scalar_one()
            assert rows == modules, rows
            kube.reset_counts()
            reconciler.reconcile(body)
            rewrites.append(float(sum(kube.writes.values())))
    value = median(seconds)
    return [
        Figure("enqueue", f"one Course of {modules:,} modules: reconcile -> rows committed",
               value * 1000, "ms", [s * 1000 for s in seconds], target="< 1000 ms",
               met=value < 1.0),
        Figure("enqueue", "re-reconcile with nothing to change: Kubernetes writes",
               median(rewrites), "writes", rewrites, target="0", met=max(rewrites) == 0),
    ]


def burst(dbs: Databases, *, courses: int, modules: int, repeats: int,
          threads: int = 4) -> list[Figure]:
    seconds = []
    for _ in range(repeats):
        with dbs.queue() as queue:
            reconciler = Reconciler(queue, FakeKube(), DEFAULTS)  # type: ignore[arg-type]
            bodies = [course_body(i, modules) for i in range(courses)]
            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(reconciler.reconcile, bodies))
            seconds.append(time.perf_counter() - started)
            with queue.engine.connect() as conn:
                rows: int = conn.execute(text("SELECT count(*) FROM jobs")).scalar_one()
            assert rows == courses * modules, rows
    return [Figure("enqueue", f"{courses:,} Courses x {modules} created at once: all "
                   f"{courses * modules:,} jobs exist", median(seconds), "s", seconds,
                   note=f"{threads} reconcile threads, in process")]
