-- Head, checkpoint and lag of a projection on the streams of a tenant (some stores, or all: NULL).
-- Index: sequence_counters primary key prefix (tenant_id), checkpoint primary key per stream.
-- Locks: none. Rows: one per store of the tenant asked for.
SELECT c.store_id, c.current_sequence AS head, coalesce(p.last_sequence, 0) AS checkpoint,
       p.updated_at
FROM sequence_counters c
LEFT JOIN projection_checkpoints p
  ON p.projection = %(projection)s AND p.tenant_id = c.tenant_id AND p.store_id = c.store_id
WHERE c.tenant_id = %(tenant_id)s
  AND c.stream_kind = %(stream_kind)s
  AND (%(store_ids)s::uuid[] IS NULL OR c.store_id = ANY(%(store_ids)s::uuid[]))
ORDER BY c.store_id
