-- The PostgreSQL backends serving the service's database (for CPU accounting), not this one.
-- Index: none (pg_stat_activity is a view over shared memory). Locks: none.
-- Rows: one per connection to the database.
SELECT pid
FROM pg_stat_activity
WHERE datname = %(db)s
  AND pid <> pg_backend_pid()
