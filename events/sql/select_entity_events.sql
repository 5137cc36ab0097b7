-- A page of one entity's history (offset paging, as the reference) with the entity's total.
-- Always returns at least one row: the total, with NULL event columns when the page is empty.
-- Index: events_entity_idx (tenant_id, store_id, entity_type, entity_id, sequence_number),
-- one partition. Locks: none. Rows: max(1, page size) (<= 100).
SELECT t.total, p.*
FROM (
    SELECT count(*) AS total
    FROM events
    WHERE tenant_id = %(tenant_id)s
      AND store_id = %(store_id)s
      AND entity_type = %(entity_type)s
      AND entity_id = %(entity_id)s
) AS t
LEFT JOIN LATERAL (
    SELECT e.event_id, e.command_id, e.envelope_version, e.entity_type, e.entity_id, e.event_type,
           e.payload, e.payload_format, e.payload_hash, e.base_version, e.source_agent, e.signature,
           e.created_at, e.sequence_number, e.sequenced_at
    FROM events e
    WHERE e.tenant_id = %(tenant_id)s
      AND e.store_id = %(store_id)s
      AND e.entity_type = %(entity_type)s
      AND e.entity_id = %(entity_id)s
    ORDER BY e.sequence_number
    OFFSET %(offset)s
    LIMIT %(limit)s
) AS p ON true
