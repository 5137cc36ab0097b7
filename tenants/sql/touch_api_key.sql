-- Record that a key was used, at most once per interval (the WHERE makes it a no-op otherwise).
-- Index: api_keys primary key. Locks: the key's row, briefly, only when it updates. Rows: 0 or 1.
UPDATE api_keys
SET last_used_at = now()
WHERE key_hash = %(key_hash)s
  AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %(interval_seconds)s))
