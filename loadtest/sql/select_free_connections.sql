-- How many more connections PostgreSQL would accept from an ordinary role now: max_connections
-- less the superuser-reserved slots less every client backend of the cluster (this one included).
-- Index: none (pg_stat_activity is a view over shared memory). Locks: none.
-- Rows: one.
SELECT current_setting('max_connections')::int
       - current_setting('superuser_reserved_connections')::int
       - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS free
