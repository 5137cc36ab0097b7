-- Create a projection's checkpoint row for a stream at 0 if it does not exist yet.
-- Index: projection_checkpoints primary key. Locks: the inserted row. Rows: none returned.
INSERT INTO projection_checkpoints (projection, tenant_id, store_id, stream_kind, last_sequence, updated_at)
VALUES (%(projection)s, %(tenant_id)s, %(store_id)s, %(stream_kind)s, 0, now())
ON CONFLICT (projection, tenant_id, store_id) DO NOTHING
