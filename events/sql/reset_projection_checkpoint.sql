-- Rewind a projection's checkpoint on a stream to 0 (rebuild from scratch).
-- Index: projection_checkpoints primary key. Locks: the row. Rows: zero or one.
UPDATE projection_checkpoints
SET last_sequence = 0, updated_at = now()
WHERE projection = %(projection)s AND tenant_id = %(tenant_id)s AND store_id = %(store_id)s
