-- A sample of a tenant's legacy events whose payload is sealed under the newest key id: the
-- reencrypt_payloads command opens them with that key before it rotates anything, so a key id
-- given new material (never allowed) is refused instead of reported as "0 left".
-- Index: events primary key (tenant_id, store_id, sequence_number), one partition; stops at
-- sample_size rows. Locks: none. Rows: at most sample_size.
SELECT e.store_id, e.sequence_number, e.event_id, e.entity_type, e.entity_id, e.event_type,
       e.payload, e.payload_format, e.payload_key_id
FROM events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.payload_format <> 0
  AND e.payload_key_id = %(newest_key_id)s
LIMIT %(sample_size)s
