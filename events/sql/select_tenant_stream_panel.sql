-- The tenant page of the operator admin, in one statement: every stream of a tenant (all kinds)
-- with its head and last write, and each registered projection's checkpoint on the streams of
-- the kind it consumes. %(projections)s and %(projection_kinds)s are parallel arrays (name,
-- stream kind) of the registered projections, numbered by registration order (`ord`); a
-- projection without a checkpoint row has projected nothing (0). One row per (stream,
-- projection consuming its kind); a stream no projection consumes has one row, projection NULL.
-- Index: sequence_counters primary key prefix (tenant_id); checkpoint primary key per stream.
-- Locks: none. Rows: the tenant's streams times the projections of their kind (at least one each).
SELECT s.store_id, s.stream_kind, s.current_sequence, s.updated_at,
       p.projection, p.ord, coalesce(c.last_sequence, 0) AS checkpoint, c.updated_at AS checkpoint_updated_at
FROM sequence_counters s
LEFT JOIN unnest(%(projections)b::text[], %(projection_kinds)b::smallint[]) WITH ORDINALITY
    AS p(projection, stream_kind, ord)
    ON p.stream_kind = s.stream_kind
LEFT JOIN projection_checkpoints c
    ON c.projection = p.projection AND c.tenant_id = s.tenant_id AND c.store_id = s.store_id
WHERE s.tenant_id = %(tenant_id)s
ORDER BY s.store_id, s.stream_kind, p.ord
