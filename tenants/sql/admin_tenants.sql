-- Admin: one summary row per tenant (all tenants when %(tenant_id)s is NULL), oldest first.
-- Aggregates of stores, api_keys, agent_signing_keys and sequence_counters only (never events).
-- Index: tenants primary key; per-tenant aggregates use each table's tenant-leading key.
-- Locks: none. Rows: at most %(limit)s.
SELECT
    t.id, t.name, t.is_active, t.created_at,
    (SELECT count(*) FROM stores s WHERE s.tenant_id = t.id) AS stores,
    (SELECT count(*) FROM (
        SELECT agent_id FROM api_keys k WHERE k.tenant_id = t.id AND k.agent_id IS NOT NULL
        UNION
        SELECT agent_id FROM agent_signing_keys a WHERE a.tenant_id = t.id) AS agents) AS agents,
    (SELECT count(*) FROM api_keys k WHERE k.tenant_id = t.id) AS api_keys,
    (SELECT count(*) FROM api_keys k WHERE k.tenant_id = t.id AND k.active) AS active_api_keys,
    (SELECT coalesce(sum(c.current_sequence), 0)::bigint FROM sequence_counters c
     WHERE c.tenant_id = t.id AND c.stream_kind = 1) AS head_sequence,
    (SELECT coalesce(sum(c.current_sequence), 0)::bigint FROM sequence_counters c
     WHERE c.tenant_id = t.id AND c.stream_kind = 2) AS ves_head_sequence,
    (SELECT max(c.updated_at) FROM sequence_counters c
     WHERE c.tenant_id = t.id AND c.current_sequence > 0) AS last_activity_at
FROM tenants t
WHERE (%(tenant_id)s::uuid IS NULL OR t.id = %(tenant_id)s::uuid)
ORDER BY t.created_at, t.id
LIMIT %(limit)s
