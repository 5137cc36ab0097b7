-- The projected states of a batch's entities (of one or more streams: one array element per
-- entity), locked for the handler's read-merge-write.
-- Driven by the batch's keys (unnest) and probing whole keys once per key (LATERAL ... LIMIT 1,
-- as classify_batch.sql), so its cost never grows with the stream's size whatever the planner's
-- statistics say. A plain join let a generic plan made while entity_state was small scan the
-- whole stream's states for every batch (10 ms per projected event at 50,000 states); a plain
-- join to events, or a probe naming only its primary key's three columns, let a generic plan
-- without statistics (every index costed at one row) take events_entity_idx by (tenant_id,
-- store_id) alone and read the whole stream per entity (statement timeout at 1M events).
-- Index: entity_state primary key, one probe per distinct entity of the batch; for a state by
-- reference one events probe that names every column of every events index (primary key,
-- events_entity_idx, events_tenant_event_id_key), so whichever the planner takes is probed by
-- its whole key: the event is the row's entity's, and last_event_id is that event while the
-- reference stands (upsert_entity_states.sql clears it). Locks: the rows (FOR NO KEY UPDATE).
-- Rows: at most one per entity; the state is either plain (state) or sealed (state_sealed,
-- state_key_id: events/projections/state_crypto.py), or by reference (ADR 0036): then the
-- columns of the one event whose payload it is (its times too, to dead-letter it when that
-- payload was altered: ADR 0049); named by the 1-based position of its entity in the arrays.
SELECT k.position, s.state, s.state_sealed, s.state_key_id, s.state_event_sequence,
       ev.event_id, ev.event_type, ev.payload, ev.payload_format, ev.created_at, ev.sequenced_at
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(entity_types)b::text[], %(entity_ids)b::text[])
     WITH ORDINALITY AS k(tenant_id, store_id, entity_type, entity_id, position)
CROSS JOIN LATERAL (
    SELECT e.state, e.state_sealed, e.state_key_id, e.state_event_sequence, e.last_event_id
    FROM entity_state e
    WHERE e.tenant_id = k.tenant_id
      AND e.store_id = k.store_id
      AND e.entity_type = k.entity_type
      AND e.entity_id = k.entity_id
    LIMIT 1
    FOR NO KEY UPDATE
) AS s
LEFT JOIN LATERAL (
    SELECT e.event_id, e.event_type, e.payload, e.payload_format, e.created_at, e.sequenced_at
    FROM events e
    WHERE s.state_event_sequence IS NOT NULL
      AND e.tenant_id = k.tenant_id
      AND e.store_id = k.store_id
      AND e.sequence_number = s.state_event_sequence
      AND e.entity_type = k.entity_type
      AND e.entity_id = k.entity_id
      AND e.event_id = s.last_event_id
    LIMIT 1
) AS ev ON true
