-- The planner's estimate of a table's rows (pg_class.reltuples, kept by ANALYZE and autovacuum),
-- summed over its partitions for a partitioned table: what the admin shows as the size of an
-- unfiltered list instead of counting every row (sequencer_project/admin_lists.py).
-- Index: pg_class's and pg_inherits' own. Locks: none. Rows: 1 (NULL when the table is unknown;
-- -1 or less for a table never analyzed).
SELECT sum(c.reltuples)::bigint
FROM pg_class c
WHERE c.oid = to_regclass(%(table)s)
   OR c.oid IN (SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = to_regclass(%(table)s))
