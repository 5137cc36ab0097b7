-- Resolve an active API key by the SHA-256 hex of the presented key (an expired key is returned:
-- authentication refuses it by expires_at with its own code, cached or not), with whether its
-- tenant is active (a deactivated tenant's keys are refused with their own code too).
-- Index: api_keys primary key (key_hash), tenants primary key. Locks: none. Rows: 0 or 1.
SELECT k.tenant_id, k.store_ids, k.agent_id, k.can_read, k.can_write, k.can_admin, k.rate_limit, k.expires_at,
       k.shared_rate_limits, t.is_active
FROM api_keys k
JOIN tenants t ON t.id = k.tenant_id
WHERE k.key_hash = %(key_hash)s
  AND k.active
