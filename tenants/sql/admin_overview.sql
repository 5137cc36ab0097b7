-- Admin overview: counts and heads of every tenant (%(tenant_id)s NULL) or of one tenant.
-- Reads only tenants, stores, api_keys, agent_signing_keys and sequence_counters (never the
-- event tables). Index: primary keys / api_keys_tenant_agent when a tenant is given.
-- Locks: none. Rows: one.
WITH agents AS (
    SELECT tenant_id, agent_id FROM api_keys
    WHERE agent_id IS NOT NULL AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
    UNION
    SELECT tenant_id, agent_id FROM agent_signing_keys
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
), counters AS (
    SELECT tenant_id, store_id, stream_kind, current_sequence, updated_at FROM sequence_counters
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
), keys AS (
    SELECT active FROM api_keys
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
)
SELECT
    (SELECT count(*) FROM tenants WHERE (%(tenant_id)s::uuid IS NULL OR id = %(tenant_id)s::uuid)) AS tenants,
    (SELECT count(*) FROM stores WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)) AS stores,
    (SELECT count(*) FROM agents) AS agents,
    (SELECT count(*) FROM keys) AS api_keys,
    (SELECT count(*) FROM keys WHERE active) AS active_api_keys,
    (SELECT coalesce(sum(current_sequence), 0)::bigint FROM counters WHERE stream_kind = 1) AS total_head_sequence,
    (SELECT coalesce(sum(current_sequence), 0)::bigint FROM counters WHERE stream_kind = 2) AS total_ves_head_sequence,
    (SELECT count(DISTINCT (tenant_id, store_id)) FROM counters
     WHERE current_sequence > 0 AND updated_at > now() - interval '24 hours') AS active_stores_24h,
    (SELECT max(updated_at) FROM counters WHERE current_sequence > 0) AS last_activity_at
