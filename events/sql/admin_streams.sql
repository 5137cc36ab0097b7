-- Fragment, not a statement: the CTE `streams` of the admin statements (composed in
-- events/sql/__init__.py). One row per stream (tenant, store, kind) in scope with its head and
-- the position of the slowest registered projection consuming that kind. Scope: the tenant
-- %(tenant_id)s (every tenant when NULL) and the stores %(store_ids)s (every store when NULL; a
-- store-scoped caller's stores otherwise, docs/auth.md). %(projections)s and
-- %(projection_kinds)s are parallel arrays (name, stream kind) of the registered projections;
-- a projection without a checkpoint row has projected nothing (0). `last_projected` is NULL
-- when no projection consumes the kind. Set-based: one scan of sequence_counters joined to
-- projection_checkpoints. Index: sequence_counters primary key prefix (tenant_id) when a
-- tenant is given, (tenant_id, store_id) when stores are too; checkpoint primary key per
-- stream. Locks: none.
SELECT s.tenant_id, s.store_id, s.stream_kind, s.current_sequence, s.updated_at,
       min(CASE WHEN p.projection IS NULL THEN NULL ELSE coalesce(c.last_sequence, 0) END) AS last_projected
FROM sequence_counters s
LEFT JOIN unnest(%(projections)b::text[], %(projection_kinds)b::smallint[]) AS p(projection, stream_kind)
    ON p.stream_kind = s.stream_kind
LEFT JOIN projection_checkpoints c
    ON c.projection = p.projection AND c.tenant_id = s.tenant_id AND c.store_id = s.store_id
WHERE (%(tenant_id)s::uuid IS NULL OR s.tenant_id = %(tenant_id)s::uuid)
  AND (%(store_ids)b::uuid[] IS NULL OR s.store_id = ANY(%(store_ids)b::uuid[]))
GROUP BY s.tenant_id, s.store_id, s.stream_kind
