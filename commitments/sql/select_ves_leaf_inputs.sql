-- What the VES leaves of a range hash: sequence number, signing hash and agent signature.
-- Index: ves_events primary key, one partition. Locks: none. Rows: sequence_end - start + 1.
SELECT sequence_number, event_signing_hash, agent_signature
FROM ves_events
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
  AND sequence_number BETWEEN %(sequence_start)s AND %(sequence_end)s
ORDER BY sequence_number
