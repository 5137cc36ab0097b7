-- The cluster's WAL written so far, its full-page images and its checkpoints (pg_stat_wal and
-- pg_stat_bgwriter, PostgreSQL 14+): a capacity window reads them before and after its load.
-- Locks: none. Rows: one.
SELECT w.wal_bytes::bigint, w.wal_fpi, b.checkpoints_timed + b.checkpoints_req
FROM pg_stat_wal w, pg_stat_bgwriter b
