-- The server process serving this session: two connections that report the same one share a
-- session (a transaction-pooling proxy), which session-level advisory locks cannot survive.
-- Index: none. Locks: none.
SELECT pg_backend_pid()
