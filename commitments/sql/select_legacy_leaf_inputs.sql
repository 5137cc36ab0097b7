-- What the legacy leaves of a range hash: sequence number, payload hash, entity type and id.
-- Index: events primary key, one partition. Locks: none. Rows: sequence_end - start + 1.
SELECT sequence_number, payload_hash, entity_type, entity_id
FROM events
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
  AND sequence_number BETWEEN %(sequence_start)s AND %(sequence_end)s
ORDER BY sequence_number
