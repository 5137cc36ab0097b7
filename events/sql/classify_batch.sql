-- Everything the ingest needs to classify a batch, in one round trip (caller holds the
-- stream's counter lock, so no other writer of this stream can change these rows):
--   'e' rows: stored events with one of the batch's event ids (any store of the tenant);
--   'c' rows: command ids of the batch already reserved in this stream kind;
--   'v' rows: current versions of entities whose events carry a base_version.
-- Index: events_tenant_event_id_key (pruned to one partition by tenant_id), the primary keys
-- of command_dedupe and entity_versions. Locks: none. Rows: at most 3 per event.
SELECT 'e' AS kind, e.event_id, e.store_id, e.sequence_number, e.envelope_hash, NULL::text AS entity_type,
       NULL::text AS entity_id, NULL::bigint AS version
FROM events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.event_id = ANY(%(event_ids)s::uuid[])
UNION ALL
SELECT 'c', d.command_id, NULL, NULL, NULL, NULL, NULL, NULL
FROM command_dedupe d
WHERE d.tenant_id = %(tenant_id)s
  AND d.store_id = %(store_id)s
  AND d.stream_kind = %(stream_kind)s
  AND d.command_id = ANY(%(command_ids)s::uuid[])
UNION ALL
SELECT 'v', NULL, NULL, NULL, NULL, v.entity_type, v.entity_id, v.version
FROM entity_versions v
JOIN unnest(%(entity_types)s::text[], %(entity_ids)s::text[]) AS k(entity_type, entity_id)
  ON v.entity_type = k.entity_type AND v.entity_id = k.entity_id
WHERE v.tenant_id = %(tenant_id)s
  AND v.store_id = %(store_id)s
  AND v.stream_kind = %(stream_kind)s
