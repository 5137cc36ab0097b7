-- Take, without waiting, several session-level advisory locks in the one-argument (bigint) form
-- (sequencer_project/db/locks.py session_locks_try: the commitment drain locks). Returns the keys
-- taken; a key another session holds is left out. Held until unlock_session_locks.sql or the
-- session's end, across transactions (a rollback does not release them).
-- Index: none. Locks: the advisory locks only. Rows: at most one per key.
SELECT k.key
FROM unnest(%(keys)b::bigint[]) AS k(key)
WHERE pg_try_advisory_lock(k.key)
