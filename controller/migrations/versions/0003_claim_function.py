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

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PENDING = "state = 'pending'"

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
--    so their queued rows (the oldest, at the front) do not fill the prefix (the scan is
--    capped at 8x the prefix plus the slots held). If the prefix (widened once at most)
--    yields enough first slots, they are the answer.
-- 2. Otherwise every owner is ranked: ranking a global-order prefix is exact for its rows,
--    and no row past the prefix can beat a candidate in its owner's first slot, so the
--    choice is final when every chosen job is a first slot or the prefix held every
--    claimable row.
-- A prefix that is not enough grows eightfold, once. If the choice is still not final, there
-- are fewer candidates than free slots or a few owners' long queues fill the prefix:
-- 3. Every owner with queued work (a loose index scan over ix_jobs_owner_queue) contributes
--    its first rows that fit its room, and the best of those are taken. This costs one index
--    probe per such owner, whatever the length of their queues.
DECLARE
    now_at timestamp;
    held_total bigint;
    holders integer;
    free bigint;
    prefix bigint;
    scanned bigint;
    picked bigint[];
    attempts integer[];
    owners text[];
    all_first boolean;
    final boolean;
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
        -- The scan itself is capped too: one owner holding a slot may have a million queued
        -- rows at the front, and skipping them one by one would cost the whole backlog.
        WITH head AS (
            SELECT j.id, j.owner, j.priority, j.created_at, j.attempt
            FROM (SELECT j.id, j.owner, j.priority, j.created_at, j.attempt, j.suspended,
                         j.not_before
                  FROM jobs j WHERE j.state = 'pending'
                  ORDER BY j.priority DESC, j.created_at, j.id
                  LIMIT 8 * (prefix + held_total)) j
            WHERE NOT j.suspended AND (j.not_before IS NULL OR j.not_before <= now_at)
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
            WHERE coalesce((overrides ->> h.owner)::bigint, per_user_limit) >= 1
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
        FOR widening IN 1..2 LOOP
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
                WHERE r.slot <= coalesce((overrides ->> r.owner)::bigint, per_user_limit)
                ORDER BY r.slot, r.priority DESC, r.created_at, r.id
                LIMIT free
            )
            SELECT (SELECT count(*) FROM head),
                   array_agg(c.id ORDER BY c.place), array_agg(c.attempt ORDER BY c.place),
                   array_agg(c.owner ORDER BY c.place), coalesce(bool_and(c.slot = 1), true)
            INTO scanned, picked, attempts, owners, all_first
            FROM chosen c;
            final := scanned < prefix
                OR (coalesce(array_length(picked, 1), 0) >= free AND all_first);
            EXIT WHEN final;
            prefix := prefix * 8;
        END LOOP;
        IF NOT final THEN
            -- Still not final: fewer candidates than free slots, or owners whose long queues
            -- crowd the prefix. Take each owner's first rows that fit its room instead (index
            -- ix_jobs_owner_queue): the cost follows the number of owners with queued work,
            -- not the length of their queues.
            WITH RECURSIVE queued(owner) AS (
                (SELECT j.owner FROM jobs j WHERE j.state = 'pending'
                 ORDER BY j.owner LIMIT 1)
                UNION ALL
                SELECT (SELECT j.owner FROM jobs j
                        WHERE j.state = 'pending' AND j.owner > q.owner
                        ORDER BY j.owner LIMIT 1)
                FROM queued q WHERE q.owner IS NOT NULL
            ), held AS (
                SELECT j.owner, count(*) AS n FROM jobs j
                WHERE j.state IN ('claimed', 'running') GROUP BY j.owner
            ), room AS (
                SELECT q.owner, coalesce(held.n, 0) AS n,
                       coalesce((overrides ->> q.owner)::bigint, per_user_limit)
                           - coalesce(held.n, 0) AS left_over
                FROM queued q LEFT JOIN held ON held.owner = q.owner
                WHERE q.owner IS NOT NULL
            ), ranked AS (
                SELECT f.id, f.owner, f.priority, f.created_at, f.attempt,
                       room.n + row_number() OVER (
                           PARTITION BY f.owner COLLATE "C"
                           ORDER BY f.priority DESC, f.created_at, f.id) AS slot
                FROM room CROSS JOIN LATERAL (
                    SELECT j.id, j.owner, j.priority, j.created_at, j.attempt FROM jobs j
                    WHERE j.state = 'pending' AND j.owner = room.owner AND NOT j.suspended
                      AND (j.not_before IS NULL OR j.not_before <= now_at)
                    ORDER BY j.priority DESC, j.created_at, j.id
                    LIMIT room.left_over
                ) f
                WHERE room.left_over > 0
            ), chosen AS (
                SELECT r.id, r.attempt, r.owner,
                       row_number() OVER (ORDER BY r.slot, r.priority DESC, r.created_at, r.id)
                           AS place
                FROM ranked r
                ORDER BY r.slot, r.priority DESC, r.created_at, r.id
                LIMIT free
            )
            SELECT array_agg(c.id ORDER BY c.place), array_agg(c.attempt ORDER BY c.place),
                   array_agg(c.owner ORDER BY c.place)
            INTO picked, attempts, owners
            FROM chosen c;
        END IF;
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
    # Each owner's queue in claim order (phase 3 of the claim); it replaces the owner index
    # of 0001, whose ascending priority could not serve "highest priority first".
    op.drop_index("ix_jobs_pending", table_name="jobs")
    op.create_index("ix_jobs_owner_queue", "jobs",
                    ["owner", sa.text("priority DESC"), "created_at", "id"],
                    postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CLAIM_FUNCTION)


def downgrade() -> None:
    op.drop_index("ix_jobs_owner_queue", table_name="jobs")
    op.create_index("ix_jobs_pending", "jobs", ["owner", "priority", "created_at"],
                    postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION course_claim(integer, integer, jsonb, integer, "
                   "double precision, text, timestamp)")
