-- Head, checkpoint and lag of every registered projection on the streams of a tenant (the stores
-- %(store_ids)s, or all: NULL), worst lag first: ORDER BY lag DESC, then (projection, store_id),
-- a total order (a projection reads one stream kind), then OFFSET %(offset)s LIMIT %(limit)s
-- (NULL: all). %(projections)s and %(projection_kinds)s are parallel arrays (name, stream kind)
-- of the registered projections; a stream without a checkpoint row has projected nothing (0).
-- The lag moves with ingest and the projections, so pages are each a snapshot, not one of the
-- whole list. Index: sequence_counters primary key prefix (tenant_id) per kind, checkpoint
-- primary key per stream; every stream of the tenant is read and sorted (thousands of rows: one
-- sort in memory). Locks: none. Rows: at most %(limit)s.
SELECT p.projection, c.store_id, c.current_sequence AS head, coalesce(k.last_sequence, 0) AS checkpoint,
       k.updated_at
FROM unnest(%(projections)b::text[], %(projection_kinds)b::smallint[]) AS p(projection, stream_kind)
JOIN sequence_counters c
  ON c.tenant_id = %(tenant_id)s AND c.stream_kind = p.stream_kind
 AND (%(store_ids)s::uuid[] IS NULL OR c.store_id = ANY(%(store_ids)s::uuid[]))
LEFT JOIN projection_checkpoints k
  ON k.projection = p.projection AND k.tenant_id = c.tenant_id AND k.store_id = c.store_id
ORDER BY greatest(c.current_sequence - coalesce(k.last_sequence, 0), 0) DESC, p.projection, c.store_id
OFFSET %(offset)s
LIMIT %(limit)s
