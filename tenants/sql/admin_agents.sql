-- Admin: one row per (tenant, agent) known from API keys or signing keys, with the permissions
-- and store scope of its oldest API key and key counts. Reads api_keys and agent_signing_keys only.
-- Index: api_keys_tenant_agent, agent_keys_tenant_agent. Locks: none. Rows: at most %(limit)s.
WITH agents AS (
    SELECT tenant_id, agent_id FROM api_keys
    WHERE agent_id IS NOT NULL AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
    UNION
    SELECT tenant_id, agent_id FROM agent_signing_keys
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
)
SELECT
    a.tenant_id, a.agent_id,
    first_key.can_write, first_key.can_admin, first_key.store_ids,
    coalesce(counts.api_keys, 0) AS api_keys,
    coalesce(counts.active_api_keys, 0) AS active_api_keys,
    counts.first_key_at, counts.last_key_at,
    (SELECT count(*) FROM agent_signing_keys sk
     WHERE sk.tenant_id = a.tenant_id AND sk.agent_id = a.agent_id) AS signing_keys
FROM agents a
LEFT JOIN LATERAL (
    SELECT k.can_write, k.can_admin, k.store_ids FROM api_keys k
    WHERE k.tenant_id = a.tenant_id AND k.agent_id = a.agent_id
    ORDER BY k.created_at, k.key_hash LIMIT 1
) AS first_key ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS api_keys, count(*) FILTER (WHERE k.active) AS active_api_keys,
           min(k.created_at) AS first_key_at, max(k.created_at) AS last_key_at
    FROM api_keys k WHERE k.tenant_id = a.tenant_id AND k.agent_id = a.agent_id
) AS counts ON true
ORDER BY counts.last_key_at DESC NULLS LAST, a.tenant_id, a.agent_id
LIMIT %(limit)s
