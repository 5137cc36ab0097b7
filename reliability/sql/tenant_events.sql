-- Every stored event of one tenant, in stream order: compared with what clients saw acknowledged.
-- Index: events primary key within the tenant's partition. Locks: none.
-- Rows: every event of the tenant (at most tens of thousands in a reliability run).
SELECT event_id::text, store_id::text, sequence_number, payload_hash, entity_id, base_version
FROM events
WHERE tenant_id = %(tenant_id)s
ORDER BY store_id, sequence_number
