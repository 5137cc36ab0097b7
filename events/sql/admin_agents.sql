-- Admin: one row per (tenant, agent) known from API keys or signing keys, with the reference
-- dashboard's figures: the widest permission and store scope over its API keys (as the
-- reference: any admin key -> admin, any unscoped key -> all stores), the union of the stores
-- its scoped keys name, key counts and key times. Set-based: api_keys, their store ids and
-- agent_signing_keys are each aggregated once (GROUP BY tenant, agent) and joined.
-- Scope (docs/auth.md): the tenant %(tenant_id)s (every tenant when NULL). With %(store_ids)s
-- (a store-scoped caller's stores; NULL: every store) only the API keys scoped within those
-- stores are read (an all-stores key is not), and only the agents holding one are listed: an
-- agent known only from signing keys (which have no store scope) is left out; a listed agent's
-- signing keys are counted (any reader of the tenant may read them).
-- Order: without paging (%(paged)s false: the reference dashboard's view) newest key first;
-- paged (`offset` given) by (tenant_id, agent_id), keys that never change, so a walk with
-- OFFSET %(offset)s never skips an agent (one that appears meanwhile may shift a row to the next
-- page once).
-- Index: api_keys_tenant_agent, agent_keys_tenant_agent when a tenant is given.
-- Locks: none. Rows: at most %(limit)s.
WITH visible_keys AS (
    SELECT tenant_id, agent_id, can_admin, can_write, store_ids, active, created_at, updated_at
    FROM api_keys
    WHERE agent_id IS NOT NULL AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
      AND (%(store_ids)b::uuid[] IS NULL
           OR (cardinality(store_ids) > 0 AND store_ids <@ %(store_ids)b::uuid[]))
), keys AS (
    SELECT tenant_id, agent_id,
           bool_or(can_admin) AS has_admin, bool_or(can_write) AS has_write,
           bool_or(cardinality(store_ids) = 0) AS all_stores,
           count(*) AS api_keys, count(*) FILTER (WHERE active) AS active_api_keys,
           min(created_at) AS first_key_at, max(updated_at) AS last_key_at
    FROM visible_keys
    GROUP BY tenant_id, agent_id
), key_stores AS (
    SELECT k.tenant_id, k.agent_id, array_agg(DISTINCT sid ORDER BY sid) AS store_ids
    FROM visible_keys k CROSS JOIN LATERAL unnest(k.store_ids) AS sid
    GROUP BY k.tenant_id, k.agent_id
), signing AS (
    SELECT tenant_id, agent_id, count(*) AS signing_keys
    FROM agent_signing_keys
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
    GROUP BY tenant_id, agent_id
)
SELECT
    coalesce(k.tenant_id, sg.tenant_id) AS tenant_id,
    coalesce(k.agent_id, sg.agent_id) AS agent_id,
    k.has_admin, k.has_write, k.all_stores,
    coalesce(ks.store_ids, '{}'::uuid[]) AS store_ids,
    coalesce(k.api_keys, 0) AS api_keys,
    coalesce(k.active_api_keys, 0) AS active_api_keys,
    k.first_key_at, k.last_key_at,
    coalesce(sg.signing_keys, 0) AS signing_keys
FROM keys k
FULL JOIN signing sg ON sg.tenant_id = k.tenant_id AND sg.agent_id = k.agent_id
LEFT JOIN key_stores ks ON ks.tenant_id = k.tenant_id AND ks.agent_id = k.agent_id
WHERE %(store_ids)b::uuid[] IS NULL OR k.agent_id IS NOT NULL
ORDER BY CASE WHEN %(paged)s::boolean THEN NULL ELSE k.last_key_at END DESC NULLS LAST, 1, 2
OFFSET %(offset)s
LIMIT %(limit)s
