-- The primary's current WAL position, the reference the replica's replay is measured against.
-- Run at most once a second per process. Index: none. Locks: none.
SELECT pg_current_wal_lsn()::text
