-- Everything VES ingest needs to classify a batch, in one round trip (caller holds the
-- stream's VES counter lock):
--   'e' rows: stored VES events with one of the batch's event ids (any store of the tenant),
--            with their receipt so an exact replay can be answered without re-verifying;
--   'c' rows: command ids of the batch already reserved in the VES stream kind;
--   'v' rows: current VES versions of entities whose events carry a base_version.
-- Index: ves_events_tenant_event_id_key (one partition), the primary keys of command_dedupe
-- and entity_versions, each probed once per key. Locks: none. Rows: at most 3 per event.
-- The first eight columns are classify_batch.sql's (streams.classification reads both); the
-- receipt columns follow.
SELECT 'e' AS kind, e.event_id, e.store_id, e.sequence_number, e.envelope_hash, NULL::text AS entity_type,
       NULL::text AS entity_id, NULL::bigint AS version, e.sequenced_at, e.sequencer_id, e.receipt_hash,
       e.signature_alg, e.sequencer_signature, e.sequencer_key_version
FROM ves_events e
WHERE e.tenant_id = %(tenant_id)s
  AND e.event_id = ANY(%(event_ids)b::uuid[])
UNION ALL
SELECT 'c', d.command_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
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
SELECT 'v', NULL, NULL, NULL, NULL, k.entity_type, k.entity_id, v.version, NULL, NULL, NULL, NULL, NULL, NULL
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
