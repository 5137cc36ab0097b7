-- Take, without waiting, a session-level advisory lock in the two-key form; held until
-- pg_advisory_unlock or the session's end, across transactions (sequencer_project/db/locks.py
-- session_lock_try: singleton jobs, one node at a time; manage.py migrate, which tries again
-- rather than wait: a waiting statement holds a snapshot, which the other process's CREATE INDEX
-- CONCURRENTLY would wait for, a deadlock). Index: none. Locks: the advisory lock only. Rows: 1.
SELECT pg_try_advisory_lock(%(namespace)s, %(key)s)
