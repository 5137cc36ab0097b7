-- One legacy event by id within a tenant.
-- Index: events_tenant_event_id_key, pruned to one partition by tenant_id. Locks: none. Rows: 0 or 1.
SELECT e.event_id, e.command_id, e.envelope_version, e.entity_type, e.entity_id, e.event_type,
       e.payload, e.payload_format, e.payload_hash, e.base_version, e.source_agent, e.signature,
       e.created_at, e.sequence_number, e.sequenced_at, e.tenant_id, e.store_id
FROM events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.event_id = %(event_id)s
