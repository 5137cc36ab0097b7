-- The signing keys of one agent that a VES batch names (behind tenants.key_cache: a revocation
-- is seen by every process within 0.25 s).
-- Index: agent_signing_keys primary key (tenant_id, agent_id, key_id). Locks: none.
-- Rows: at most one per requested key id.
SELECT key_id, public_key, status, valid_from, valid_to
FROM agent_signing_keys
WHERE tenant_id = %(tenant_id)s
  AND agent_id = %(agent_id)s
  AND key_id = ANY(%(key_ids)b::bigint[])
