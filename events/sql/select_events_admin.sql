-- One page of a legacy stream for the operator admin, optionally filtered by entity and type.
-- Index: events primary key, or events_entity_idx when entity_type and entity_id are given;
-- one partition (tenant_id pins it). Keyset paging on sequence_number: no OFFSET, no COUNT(*).
-- A filter no index serves reads the primary key's range after..until (the caller bounds it).
-- Locks: none. Rows: at most the page size plus one.
SELECT e.sequence_number, e.event_id, e.entity_type, e.entity_id, e.event_type,
       e.payload, e.payload_format, e.created_at, e.sequenced_at
FROM events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.store_id = %(store_id)s
  AND e.sequence_number > %(after)s
  AND e.sequence_number <= %(until)s
  AND (%(entity_type)s::text IS NULL OR e.entity_type = %(entity_type)s::text)
  AND (%(entity_id)s::text IS NULL OR e.entity_id = %(entity_id)s::text)
  AND (%(event_type)s::text IS NULL OR e.event_type = %(event_type)s::text)
ORDER BY e.sequence_number
LIMIT %(limit)s
