-- Resolve an active API key by the SHA-256 hex of the presented key (an expired key is returned:
-- authentication refuses it by expires_at with its own code, cached or not).
-- Index: api_keys primary key (key_hash). Locks: none. Rows: 0 or 1.
SELECT tenant_id, store_ids, agent_id, can_read, can_write, can_admin, rate_limit, expires_at
FROM api_keys
WHERE key_hash = %(key_hash)s
  AND active
