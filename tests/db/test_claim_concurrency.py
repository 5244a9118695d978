"""Many claimers at once never exceed the limits (DESIGN invariant 2), on real PostgreSQL.

Eight processes, each with its own engine, claim, start and finish the jobs of 20 owners
while a trigger installed by the test sleeps a random few milliseconds on every row a claim
moves to ``claimed``, between the claim's read of the slot counts and its commit: without
the claim's serialization, overlapping claims would each count the same free slots. The
check is independent of the queue's code: another trigger counts the slot-holding rows after
every update to ``claimed``/``running`` (once at the statement, once more at commit) and
records any excess in a ``violations`` table.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest
from sqlalchemy import text

from controller.db import ClaimLimits, Queue
from controller.db.engine import make_engine
from controller.model import JobState

from .builders import DEFAULTS, make_course

pytestmark = pytest.mark.postgres

PROCESSES = 8
OWNERS = 20
PER_USER, GLOBAL = 3, 10
SEED = 20240611

CHECK_LIMITS = f"""
CREATE TABLE violations (
    id serial PRIMARY KEY, owner text NOT NULL, owner_slots int NOT NULL,
    total_slots int NOT NULL, at_commit boolean NOT NULL
);
CREATE FUNCTION check_limits() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner_slots int;
    total_slots int;
BEGIN
    SELECT count(*) INTO owner_slots FROM jobs
        WHERE owner = NEW.owner AND state IN ('claimed', 'running');
    SELECT count(*) INTO total_slots FROM jobs WHERE state IN ('claimed', 'running');
    IF owner_slots > {PER_USER} OR total_slots > {GLOBAL} THEN
        INSERT INTO violations (owner, owner_slots, total_slots, at_commit)
            VALUES (NEW.owner, owner_slots, total_slots, TG_ARGV[0]::boolean);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER limits_at_statement AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.state IN ('claimed', 'running')) EXECUTE FUNCTION check_limits('false');
CREATE CONSTRAINT TRIGGER limits_at_commit AFTER UPDATE ON jobs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.state IN ('claimed', 'running')) EXECUTE FUNCTION check_limits('true');
"""

# Widens the race window: the claim holds its rows (and, unless serialized, its stale view of
# the slot counts) a little longer before it commits.
SLOW_CLAIMS = """
CREATE FUNCTION slow_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(random() * 0.004);
    RETURN NEW;
END $$;
CREATE TRIGGER slow_claims BEFORE UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.state = 'claimed') EXECUTE FUNCTION slow_claim();
"""


def work(url: str, seed: int, give_up_after: float) -> int:
    """One controller replica: claim, start and finish until no job is left; returns
    how many jobs this replica finished."""
    rng = random.Random(seed)
    queue = Queue(make_engine(url))
    limits = ClaimLimits(global_limit=GLOBAL, per_user_limit=PER_USER)
    finished, stop = 0, time.monotonic() + give_up_after
    try:
        while time.monotonic() < stop:
            claimed = queue.claim(limits, 60, f"replica-{seed}")
            for job in claimed:
                time.sleep(rng.uniform(0, 0.003))
                queue.mark_running(job, 60)
                time.sleep(rng.uniform(0, 0.003))
                finished += queue.succeed(job, {"replica": seed})
            if not claimed:
                if not queue.live_jobs():
                    break
                time.sleep(rng.uniform(0, 0.005))
    finally:
        queue.close()
    return finished


def test_the_limit_checker_records_an_excess(fresh_postgres) -> None:  # type: ignore[no-untyped-def]
    """The independent check is only worth something if it can see a violation."""
    engine = make_engine(fresh_postgres())
    with engine.begin() as conn:
        conn.exec_driver_sql(CHECK_LIMITS)
    Queue(engine).sync_course(make_course(owner="greedy", modules=PER_USER + 1), DEFAULTS)

    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET state = 'claimed'"))
    with engine.connect() as conn:
        found = conn.execute(text("SELECT DISTINCT owner, owner_slots, at_commit "
                                  "FROM violations ORDER BY at_commit")).all()
    engine.dispose()
    assert [tuple(row) for row in found] == [("greedy", PER_USER + 1, False),
                                             ("greedy", PER_USER + 1, True)]


def test_concurrent_claimers_never_exceed_the_limits_and_finish_every_job_once(
    fresh_postgres, run_long: bool,  # type: ignore[no-untyped-def]
) -> None:
    url = fresh_postgres()
    modules = 25 if run_long else 5
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(CHECK_LIMITS)
        conn.exec_driver_sql(SLOW_CLAIMS)
    queue = Queue(engine)
    for owner in range(OWNERS):
        queue.sync_course(make_course(owner=f"user-{owner}", modules=modules), DEFAULTS)
    total = OWNERS * modules

    with ProcessPoolExecutor(PROCESSES, mp_context=get_context("spawn")) as pool:
        finished = list(pool.map(work, [url] * PROCESSES,
                                 [SEED + i for i in range(PROCESSES)],
                                 [300.0 if run_long else 40.0] * PROCESSES))

    with engine.connect() as conn:
        violations = conn.execute(text("SELECT owner, owner_slots, total_slots, at_commit "
                                       "FROM violations ORDER BY id LIMIT 20")).all()
        rows = conn.execute(text("SELECT state, attempt, count(*) FROM jobs "
                                 "GROUP BY state, attempt")).all()
    engine.dispose()
    assert violations == []
    assert [tuple(row) for row in rows] == [(JobState.SUCCEEDED.value, 1, total)]
    assert sum(finished) == total
