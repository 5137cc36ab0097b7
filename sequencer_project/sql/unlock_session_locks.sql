-- Release session-level advisory locks (one-argument bigint form) taken by
-- try_lock_session_locks.sql, each key once per time it was taken; returns how many unlocks found
-- their lock held by this session (sequencer_project/db/locks.py session_locks_release compares it
-- with the number of keys: fewer means statements ran on another server backend than the locks).
-- Index: none. Locks: releases the advisory locks only. Rows: one.
SELECT count(*) FILTER (WHERE pg_advisory_unlock(k.key))
FROM unnest(%(keys)b::bigint[]) AS k(key)
