-- A projection's checkpoint on a stream (the caller holds the stream's advisory lock).
-- Index: projection_checkpoints primary key. Locks: the row (FOR NO KEY UPDATE). Rows: one.
SELECT last_sequence
FROM projection_checkpoints
WHERE projection = %(projection)s AND tenant_id = %(tenant_id)s AND store_id = %(store_id)s
FOR NO KEY UPDATE
