-- Dead letters still open (pending or parked): the dlq_size gauge.
-- Index: none (a scan of projection_dead_letters, which stays small: rows are per failed event).
-- Locks: none. Rows: one.
SELECT count(*) FROM projection_dead_letters WHERE status IN ('pending', 'parked')
