-- The next legacy events a projection consumes: sequence numbers after the checkpoint, in order.
-- Index: events primary key (tenant_id, store_id, sequence_number), one partition (pruned).
-- Locks: none. Rows: at most until - after (the runner's batch size).
SELECT e.sequence_number, e.event_id, e.entity_type, e.entity_id, e.event_type,
       e.payload, e.payload_format, e.created_at, e.sequenced_at
FROM events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.store_id = %(store_id)s
  AND e.sequence_number > %(after)s
  AND e.sequence_number <= %(until)s
ORDER BY e.sequence_number
