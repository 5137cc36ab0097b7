-- Fragment, not a statement: the CTE `summaries` of the admin statements (composed in
-- events/sql/__init__.py after `streams`). One row per tenant in scope with the reference
-- dashboard's figures. Set-based: each table is aggregated once (GROUP BY tenant) and joined;
-- no per-row subquery. Reads tenants, stores, api_keys, agent_signing_keys and `streams` only
-- (never the event tables). Scope (docs/auth.md): the tenant %(tenant_id)s (every tenant when
-- NULL); with %(store_ids)s (a store-scoped caller's stores; NULL: every store) only those
-- stores, the API keys scoped within them (an all-stores key is not) and the agents holding
-- such a key (an agent known only from signing keys has no store scope, so is left out).
-- Index: the tenant-leading key of each table when a tenant is given; otherwise one scan of
-- each. Locks: none.
WITH store_counts AS (
    SELECT tenant_id, count(*) AS stores FROM stores
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
      AND (%(store_ids)b::uuid[] IS NULL OR store_id = ANY(%(store_ids)b::uuid[]))
    GROUP BY tenant_id
), visible_keys AS (
    SELECT tenant_id, agent_id, active, updated_at FROM api_keys
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
      AND (%(store_ids)b::uuid[] IS NULL
           OR (cardinality(store_ids) > 0 AND store_ids <@ %(store_ids)b::uuid[]))
), agent_counts AS (
    SELECT tenant_id, count(*) AS agents FROM (
        SELECT tenant_id, agent_id FROM visible_keys WHERE agent_id IS NOT NULL
        UNION
        SELECT tenant_id, agent_id FROM agent_signing_keys
        WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid) AND %(store_ids)b::uuid[] IS NULL
    ) AS known
    GROUP BY tenant_id
), key_counts AS (
    SELECT tenant_id, count(*) AS api_keys, count(*) FILTER (WHERE active) AS active_api_keys,
           max(updated_at) AS last_key_at
    FROM visible_keys
    GROUP BY tenant_id
), heads AS (
    SELECT tenant_id,
           coalesce(sum(current_sequence) FILTER (WHERE stream_kind = 1), 0)::bigint AS head_sequence,
           coalesce(sum(current_sequence) FILTER (WHERE stream_kind = 2), 0)::bigint AS ves_head_sequence,
           count(DISTINCT store_id) FILTER (
               WHERE current_sequence > 0 AND updated_at > now() - interval '24 hours') AS active_stores_24h,
           coalesce(max(current_sequence - last_projected), 0)::bigint AS max_projection_lag,
           max(updated_at) FILTER (WHERE current_sequence > 0) AS last_activity_at
    FROM streams
    GROUP BY tenant_id
)
SELECT
    t.id AS tenant_id, t.name, t.is_active, t.created_at,
    coalesce(sc.stores, 0) AS stores,
    coalesce(a.agents, 0) AS agents,
    coalesce(k.api_keys, 0) AS api_keys,
    coalesce(k.active_api_keys, 0) AS active_api_keys,
    coalesce(h.head_sequence, 0) AS head_sequence,
    coalesce(h.ves_head_sequence, 0) AS ves_head_sequence,
    coalesce(h.active_stores_24h, 0) AS active_stores_24h,
    greatest(coalesce(h.max_projection_lag, 0), 0) AS max_projection_lag,
    k.last_key_at,
    h.last_activity_at
FROM tenants t
LEFT JOIN store_counts sc ON sc.tenant_id = t.id
LEFT JOIN agent_counts a ON a.tenant_id = t.id
LEFT JOIN key_counts k ON k.tenant_id = t.id
LEFT JOIN heads h ON h.tenant_id = t.id
WHERE (%(tenant_id)s::uuid IS NULL OR t.id = %(tenant_id)s::uuid)
