-- Move a projection's checkpoint; commits with the projection's writes (exactly once).
-- Index: projection_checkpoints primary key. Locks: the row (already held). Rows: one.
UPDATE projection_checkpoints
SET last_sequence = %(last_sequence)s, updated_at = now()
WHERE projection = %(projection)s AND tenant_id = %(tenant_id)s AND store_id = %(store_id)s
