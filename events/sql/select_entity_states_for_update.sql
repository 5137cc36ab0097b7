-- The projected states of a batch's entities (of one or more streams: one array element per
-- entity), locked for the handler's read-merge-write.
-- Driven by the batch's keys (unnest) and probing the primary key once per key (LATERAL ...
-- LIMIT 1, as classify_batch.sql), so its cost never grows with the stream's size whatever the
-- planner's statistics say. A plain join let a generic plan made while entity_state was small
-- scan the whole stream's states for every batch (10 ms per projected event at 50,000 states).
-- Index: entity_state primary key, one probe per distinct entity of the batch.
-- Locks: the rows (FOR NO KEY UPDATE). Rows: at most one per entity; the state is either plain
-- (state) or sealed (state_sealed, state_key_id: events/projections/state_crypto.py), or by
-- reference (ADR 0036): then the columns of the one event whose payload it is (events primary
-- key, one probe); named by the 1-based position of its entity in the arrays.
SELECT k.position, s.state, s.state_sealed, s.state_key_id, s.state_event_sequence,
       ev.event_id, ev.event_type, ev.payload, ev.payload_format
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(entity_types)b::text[], %(entity_ids)b::text[])
     WITH ORDINALITY AS k(tenant_id, store_id, entity_type, entity_id, position)
CROSS JOIN LATERAL (
    SELECT e.state, e.state_sealed, e.state_key_id, e.state_event_sequence
    FROM entity_state e
    WHERE e.tenant_id = k.tenant_id
      AND e.store_id = k.store_id
      AND e.entity_type = k.entity_type
      AND e.entity_id = k.entity_id
    LIMIT 1
    FOR NO KEY UPDATE
) AS s
LEFT JOIN events ev
  ON s.state_event_sequence IS NOT NULL
 AND ev.tenant_id = k.tenant_id
 AND ev.store_id = k.store_id
 AND ev.sequence_number = s.state_event_sequence
