-- Admin: one row per store with its legacy and VES heads and how many agents may use it
-- (agents with an active key whose store scope is empty or names the store). Newest activity first.
-- Reads stores, sequence_counters and api_keys only (never events).
-- Index: sequence_counters primary key; api_keys_tenant_agent. Locks: none. Rows: at most %(limit)s.
SELECT
    s.tenant_id, s.store_id, s.created_at,
    legacy.current_sequence AS head_sequence,
    ves.current_sequence AS ves_head_sequence,
    greatest(legacy.updated_at, ves.updated_at) AS updated_at,
    (SELECT count(DISTINCT k.agent_id) FROM api_keys k
     WHERE k.tenant_id = s.tenant_id AND k.agent_id IS NOT NULL AND k.active
       AND (cardinality(k.store_ids) = 0 OR s.store_id = ANY(k.store_ids))) AS agent_count
FROM stores s
LEFT JOIN sequence_counters legacy
    ON legacy.tenant_id = s.tenant_id AND legacy.store_id = s.store_id AND legacy.stream_kind = 1
LEFT JOIN sequence_counters ves
    ON ves.tenant_id = s.tenant_id AND ves.store_id = s.store_id AND ves.stream_kind = 2
WHERE (%(tenant_id)s::uuid IS NULL OR s.tenant_id = %(tenant_id)s::uuid)
ORDER BY greatest(legacy.updated_at, ves.updated_at) DESC NULLS LAST, s.tenant_id, s.store_id
LIMIT %(limit)s
