-- Events sequenced so far on every legacy and VES stream of the database (the capacity runs'
-- throughput series), or of one tenant. Index: sequence_counters primary key prefix (tenant_id)
-- when a tenant is given, else a scan of the (small) counter table. Locks: none. Rows: one.
SELECT coalesce(sum(current_sequence), 0)
FROM sequence_counters
WHERE stream_kind IN (1, 2)
  AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
