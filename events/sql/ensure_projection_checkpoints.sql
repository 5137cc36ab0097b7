-- Create a projection's checkpoint rows at 0 for the given streams where they do not exist yet
-- (a stream's first tick). Sorted, so two ticks inserting the same new streams wait for each
-- other in one order and never deadlock.
-- Index: projection_checkpoints primary key. Locks: the inserted rows. Rows: none returned.
INSERT INTO projection_checkpoints (projection, tenant_id, store_id, stream_kind, last_sequence, updated_at)
SELECT %(projection)s, s.tenant_id, s.store_id, %(stream_kind)s, 0, now()
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[]) AS s(tenant_id, store_id)
ORDER BY s.tenant_id, s.store_id
ON CONFLICT (projection, tenant_id, store_id) DO NOTHING
