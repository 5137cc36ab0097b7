-- The checkpoint written with a commitment (idempotent for a retried commitment).
-- Locks: the new row.
INSERT INTO log_checkpoints (tenant_id, store_id, stream_kind, tree_size, root_hash, note, batch_id)
VALUES (%(tenant_id)s, %(store_id)s, %(stream_kind)s, %(tree_size)s, %(root_hash)s, %(note)s, %(batch_id)s)
ON CONFLICT DO NOTHING
