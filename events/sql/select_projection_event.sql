-- One legacy event by sequence number, for a dead-letter retry.
-- Index: events primary key, one partition. Locks: none. Rows: zero or one.
SELECT e.sequence_number, e.event_id, e.entity_type, e.entity_id, e.event_type,
       e.payload, e.payload_format, e.created_at, e.sequenced_at
FROM events e
WHERE e.tenant_id = %(tenant_id)s AND e.store_id = %(store_id)s
  AND e.sequence_number = %(sequence_number)s
