"""The claim as one server-side function on PostgreSQL: one round trip per claim.

The claim must read the slot counts after taking the claim lock, so in plain SQL it needs a
transaction of four round trips (BEGIN, lock, claim, COMMIT). A PL/pgSQL function takes
the lock, then reads with a fresh snapshot (each statement of a volatile function gets one),
ranks, and updates: called in autocommit, the whole claim is one statement, and the lock is
released when it commits. SQLite keeps the claim in Python (its transactions are local).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# zlib.crc32(b"course-controller/claim"): the one advisory lock key of the claim section.
CLAIM_LOCK_KEY = 3974039406

CLAIM_FUNCTION = f"""
CREATE FUNCTION course_claim(
    global_limit integer,
    per_user_limit integer,
    overrides jsonb,
    max_batch integer,
    lease_seconds double precision,
    claimer text,
    claim_at timestamp
) RETURNS SETOF jobs
LANGUAGE plpgsql VOLATILE AS $claim$
-- Claim as many pending jobs as both limits allow (at most max_batch when it is not NULL)
-- and return them in fairness order. claim_at is the claim time (NULL: the database clock, read
-- after the lock is granted).
--
-- Fairness: a candidate's rank is the slot it would occupy for its owner (slots held + its
-- place in the owner's queue), then priority, then age. Only a prefix of the pending rows in
-- claim order (index ix_jobs_claim) is ranked, so the cost follows the free slots, not the
-- backlog:
-- 1. First slots: the first row of each owner holding no slot is a first slot, and first
--    slots beat every other candidate. The owners that hold slots are skipped while scanning,
--    so their queued rows (the oldest, at the front) do not fill the prefix. If the prefix
--    (widened once at most) yields enough first slots, they are the answer.
-- 2. Otherwise every owner is ranked: ranking a global-order prefix is exact for its rows,
--    and no row past the prefix can beat a candidate in its owner's first slot, so the
--    choice is final when every chosen job is a first slot or the prefix held every
--    claimable row.
-- A prefix that is not enough grows eightfold.
DECLARE
    now_at timestamp;
    held_total integer;
    holders integer;
    free integer;
    prefix integer;
    scanned integer;
    picked bigint[];
    attempts integer[];
    owners text[];
    all_first boolean;
BEGIN
    PERFORM pg_advisory_xact_lock({CLAIM_LOCK_KEY});
    now_at := coalesce(claim_at, timezone('UTC', clock_timestamp()));
    SELECT count(*) INTO held_total FROM jobs WHERE state IN ('claimed', 'running');
    free := global_limit - held_total;
    IF max_batch IS NOT NULL THEN
        free := least(free, max_batch);
    END IF;
    IF free <= 0 THEN
        RETURN;
    END IF;
    prefix := greatest(64, 8 * free);
    FOR widening IN 1..2 LOOP
        -- NOT IN (not NOT EXISTS): a hashed subplan, whatever the planner guesses for the
        -- number of slot-holding rows (a nested-loop anti-join is 50x slower at 500 slots).
        WITH head AS (
            SELECT j.id, j.owner, j.priority, j.created_at, j.attempt FROM jobs j
            WHERE j.state = 'pending' AND NOT j.suspended
              AND (j.not_before IS NULL OR j.not_before <= now_at)
              AND j.owner NOT IN (SELECT s.owner FROM jobs s
                                  WHERE s.state IN ('claimed', 'running'))
            ORDER BY j.priority DESC, j.created_at, j.id
            LIMIT prefix
        ), chosen AS (
            SELECT h.id, h.attempt, h.owner,
                   row_number() OVER (ORDER BY h.priority DESC, h.created_at, h.id) AS place
            FROM (SELECT DISTINCT ON (h.owner COLLATE "C") h.*
                  FROM head h ORDER BY h.owner COLLATE "C", h.priority DESC, h.created_at, h.id
                 ) h
            WHERE coalesce((overrides ->> h.owner)::integer, per_user_limit) >= 1
            ORDER BY h.priority DESC, h.created_at, h.id
            LIMIT free
        )
        SELECT (SELECT count(*) FROM head), array_agg(c.id ORDER BY c.place),
               array_agg(c.attempt ORDER BY c.place), array_agg(c.owner ORDER BY c.place)
        INTO scanned, picked, attempts, owners
        FROM chosen c;
        EXIT WHEN coalesce(array_length(picked, 1), 0) >= free OR scanned < prefix;
        prefix := prefix * 8;
    END LOOP;
    IF coalesce(array_length(picked, 1), 0) < free THEN
        -- Not enough first slots: rank every owner's queue. The owners holding slots have
        -- the oldest queued rows, so the prefix allows for them.
        SELECT count(DISTINCT owner) INTO holders FROM jobs
            WHERE state IN ('claimed', 'running');
        prefix := greatest(64, 8 * (free + holders));
        LOOP
            WITH head AS (
                SELECT j.id, j.owner, j.priority, j.created_at, j.attempt FROM jobs j
                WHERE j.state = 'pending' AND NOT j.suspended
                  AND (j.not_before IS NULL OR j.not_before <= now_at)
                ORDER BY j.priority DESC, j.created_at, j.id
                LIMIT prefix
            ), held AS (
                SELECT j.owner, count(*) AS n FROM jobs j
                WHERE j.state IN ('claimed', 'running') GROUP BY j.owner
            ), ranked AS (
                SELECT h.id, h.owner, h.priority, h.created_at, h.attempt,
                       coalesce(held.n, 0) + row_number() OVER (
                           PARTITION BY h.owner COLLATE "C"
                           ORDER BY h.priority DESC, h.created_at, h.id
                       ) AS slot
                FROM head h LEFT JOIN held ON held.owner = h.owner
            ), chosen AS (
                SELECT r.id, r.attempt, r.owner, r.slot,
                       row_number() OVER (ORDER BY r.slot, r.priority DESC, r.created_at, r.id)
                           AS place
                FROM ranked r
                WHERE r.slot <= coalesce((overrides ->> r.owner)::integer, per_user_limit)
                ORDER BY r.slot, r.priority DESC, r.created_at, r.id
                LIMIT free
            )
            SELECT (SELECT count(*) FROM head),
                   array_agg(c.id ORDER BY c.place), array_agg(c.attempt ORDER BY c.place),
                   array_agg(c.owner ORDER BY c.place), coalesce(bool_and(c.slot = 1), true)
            INTO scanned, picked, attempts, owners, all_first
            FROM chosen c;
            EXIT WHEN prefix IS NULL OR scanned < prefix
                OR (coalesce(array_length(picked, 1), 0) >= free AND all_first);
            prefix := CASE WHEN prefix > 1000000 / 8 THEN NULL ELSE prefix * 8 END;
        END LOOP;
    END IF;
    IF picked IS NULL THEN
        RETURN;
    END IF;
    -- The row must still be the one chosen: pending, on the same attempt, of the same owner
    -- (an edit may have moved a queued row to another owner since it was ranked).
    RETURN QUERY
    WITH pick AS (
        SELECT p.id, p.attempt, p.owner, p.place
        FROM unnest(picked, attempts, owners) WITH ORDINALITY AS p(id, attempt, owner, place)
    ), moved AS (
        UPDATE jobs j SET
            state = 'claimed', attempt = j.attempt + 1, claimed_at = now_at,
            lease_expires_at = now_at + make_interval(secs => lease_seconds),
            claimed_by = claimer, progress = 0, not_before = NULL, reason = NULL,
            message = NULL, updated_at = now_at
        FROM pick
        WHERE j.id = pick.id AND j.attempt = pick.attempt AND j.owner = pick.owner
          AND j.state = 'pending' AND NOT j.suspended
        RETURNING j AS job, pick.place
    )
    SELECT (m.job).* FROM moved m ORDER BY m.place;
END
$claim$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CLAIM_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION course_claim(integer, integer, jsonb, integer, "
                   "double precision, text, timestamp)")
