-- Everything the ingest needs to classify a batch, in one round trip (caller holds the
-- stream's counter lock, so no other writer of this stream can change these rows):
--   'e' rows: stored events with one of the batch's event ids (any store of the tenant);
--   'c' rows: command ids of the batch already reserved in this stream kind;
--   'v' rows: current versions of entities whose events carry a base_version.
-- Each branch is driven by the batch's keys (unnest) and probes a primary or unique index
-- once per key (LATERAL ... LIMIT 1), so its cost never grows with the stream's size.
-- Index: events_tenant_event_id_key (pruned to one partition by tenant_id), the primary keys
-- of command_dedupe and entity_versions. Locks: none. Rows: at most 3 per event.
SELECT 'e' AS kind, e.event_id, e.store_id, e.sequence_number, e.envelope_hash, NULL::text AS entity_type,
       NULL::text AS entity_id, NULL::bigint AS version
FROM events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.event_id = ANY(%(event_ids)b::uuid[])
UNION ALL
SELECT 'c', d.command_id, NULL, NULL, NULL, NULL, NULL, NULL
FROM unnest(%(command_ids)b::uuid[]) AS k(command_id)
CROSS JOIN LATERAL (
    SELECT c.command_id
    FROM command_dedupe c
    WHERE c.tenant_id = %(tenant_id)s
      AND c.store_id = %(store_id)s
      AND c.stream_kind = %(stream_kind)s
      AND c.command_id = k.command_id
    LIMIT 1
) AS d
UNION ALL
SELECT 'v', NULL, NULL, NULL, NULL, k.entity_type, k.entity_id, v.version
FROM unnest(%(entity_types)b::text[], %(entity_ids)b::text[]) AS k(entity_type, entity_id)
CROSS JOIN LATERAL (
    SELECT ev.version
    FROM entity_versions ev
    WHERE ev.tenant_id = %(tenant_id)s
      AND ev.store_id = %(store_id)s
      AND ev.stream_kind = %(stream_kind)s
      AND ev.entity_type = k.entity_type
      AND ev.entity_id = k.entity_id
    LIMIT 1
) AS v
