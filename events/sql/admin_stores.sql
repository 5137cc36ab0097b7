-- Admin: one row per store with its legacy and VES heads, the legacy stream's projection
-- position and how many agents may use it (agents with an active key whose store scope is
-- empty or names the store). Order: without paging (%(paged)s false: the reference dashboard's
-- view) newest activity first; paged (`offset` given) by (created_at, tenant_id, store_id), keys
-- that never change, so a walk with OFFSET %(offset)s neither skips nor repeats a store while
-- ingest moves the activity (a store created meanwhile comes last). Composed after the CTE `streams`
-- (events/sql/__init__.py). Scope (docs/auth.md): the tenant %(tenant_id)s (every tenant when
-- NULL); with %(store_ids)s (a store-scoped caller's stores; NULL: every store) only those
-- stores, and only the keys scoped within them count towards `agent_count` (an all-stores key
-- is outside a store-scoped caller's view). Set-based: agents per store come from one join of
-- stores and api_keys grouped by store, never a per-row subquery. Reads stores, api_keys and
-- `streams` only (never events). Index: stores primary key (tenant_id, store_id);
-- api_keys_tenant_agent. Every store in scope is aggregated and sorted, then OFFSET/LIMIT
-- (thousands of rows: one sort in memory). Locks: none. Rows: at most %(limit)s.
SELECT
    s.tenant_id, s.store_id, s.created_at,
    coalesce(legacy.current_sequence, 0) AS head_sequence,
    coalesce(ves.current_sequence, 0) AS ves_head_sequence,
    coalesce(legacy.last_projected, 0) AS last_projected_sequence,
    greatest(coalesce(legacy.current_sequence - legacy.last_projected, 0), 0) AS projection_lag,
    coalesce(a.agent_count, 0) AS agent_count,
    coalesce(greatest(legacy.updated_at, ves.updated_at), s.created_at) AS updated_at
FROM stores s
LEFT JOIN streams legacy
    ON legacy.tenant_id = s.tenant_id AND legacy.store_id = s.store_id AND legacy.stream_kind = 1
LEFT JOIN streams ves
    ON ves.tenant_id = s.tenant_id AND ves.store_id = s.store_id AND ves.stream_kind = 2
LEFT JOIN (
    SELECT st.tenant_id, st.store_id, count(DISTINCT k.agent_id) AS agent_count
    FROM stores st
    JOIN api_keys k
        ON k.tenant_id = st.tenant_id AND k.agent_id IS NOT NULL AND k.active
       AND (cardinality(k.store_ids) = 0 OR st.store_id = ANY(k.store_ids))
    WHERE (%(tenant_id)s::uuid IS NULL OR st.tenant_id = %(tenant_id)s::uuid)
      AND (%(store_ids)b::uuid[] IS NULL
           OR (st.store_id = ANY(%(store_ids)b::uuid[])
               AND cardinality(k.store_ids) > 0 AND k.store_ids <@ %(store_ids)b::uuid[]))
    GROUP BY st.tenant_id, st.store_id
) AS a ON a.tenant_id = s.tenant_id AND a.store_id = s.store_id
WHERE (%(tenant_id)s::uuid IS NULL OR s.tenant_id = %(tenant_id)s::uuid)
  AND (%(store_ids)b::uuid[] IS NULL OR s.store_id = ANY(%(store_ids)b::uuid[]))
ORDER BY CASE WHEN %(paged)s::boolean THEN s.created_at END,
         CASE WHEN %(paged)s::boolean THEN NULL
              ELSE coalesce(greatest(legacy.updated_at, ves.updated_at), s.created_at) END DESC,
         s.tenant_id, s.store_id
OFFSET %(offset)s
LIMIT %(limit)s
