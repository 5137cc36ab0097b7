-- Take, without waiting, the transaction-scoped advisory lock PROJECTION_STREAM of each stream
-- a projection transaction is about to advance (keys: projection_lock_key); a stream another
-- transaction holds (a tick of another node, a rebuild, a dead-letter retry) is skipped.
-- Non-blocking, so locking many streams in one statement cannot deadlock.
-- Index: none. Locks: one advisory lock per returned stream, to the end of the transaction.
-- Rows: the 1-based positions (in lock_keys) of the streams now held.
SELECT k.position
FROM unnest(%(lock_keys)b::integer[]) WITH ORDINALITY AS k(lock_key, position)
WHERE pg_try_advisory_xact_lock(%(namespace)s, k.lock_key)
