-- Move a projection's checkpoints on several streams; commits with the projection's writes
-- (exactly once). Index: projection_checkpoints primary key, one probe per stream.
-- Locks: the rows (already held: select_projection_batches.sql). Rows: none returned.
UPDATE projection_checkpoints c
SET last_sequence = s.last_sequence, updated_at = now()
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(last_sequences)b::bigint[])
     AS s(tenant_id, store_id, last_sequence)
WHERE c.projection = %(projection)s AND c.tenant_id = s.tenant_id AND c.store_id = s.store_id
