-- The read replica's replay position, whether replay is paused, and the age of its newest
-- replayed commit (NULL before any). Run at most once a second per process, and by the
-- breaker's half-open probe. Index: none. Locks: none.
SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
       CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8
