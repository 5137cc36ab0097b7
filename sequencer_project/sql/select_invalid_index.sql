-- Whether an index of this name exists and pg_index marks it invalid: what an interrupted
-- CREATE INDEX CONCURRENTLY leaves, and CREATE INDEX ... IF NOT EXISTS then keeps
-- (sequencer_project/db/concurrent_indexes.py). Index: pg_index's primary key (indexrelid).
-- Locks: none. Rows: 0 or 1.
SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%(name)s) AND NOT indisvalid
