-- Write the merged states of a batch's entities (of one or more streams) at once: ``applied`` events each, the state
-- after the last of them (one array element per entity, bound as binary arrays: no JSON to
-- build or parse, no base64 for the blobs), plain (state, JSON text) or sealed (state_sealed,
-- state_key_id; the other form NULL: events/projections/state_crypto.py). A row that referred
-- to its entity's one event (ADR 0036) holds a merged state from here on: the reference is
-- cleared.
-- Index: entity_state primary key. Locks: the rows (already held). Rows: none returned.
INSERT INTO entity_state (tenant_id, store_id, entity_type, entity_id, version, last_sequence,
                          last_event_id, last_event_type, state, state_sealed, state_key_id,
                          updated_at)
SELECT r.tenant_id, r.store_id, r.entity_type, r.entity_id, r.applied, r.last_sequence,
       r.last_event_id, r.last_event_type, r.state::jsonb, r.state_sealed, r.state_key_id, now()
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(entity_types)b::text[],
            %(entity_ids)b::text[], %(applied)b::bigint[], %(last_sequences)b::bigint[],
            %(last_event_ids)b::uuid[], %(last_event_types)b::text[], %(states)b::text[],
            %(states_sealed)b::bytea[], %(state_key_ids)b::smallint[])
     AS r(tenant_id, store_id, entity_type, entity_id, applied, last_sequence, last_event_id,
          last_event_type, state, state_sealed, state_key_id)
ON CONFLICT (tenant_id, store_id, entity_type, entity_id) DO UPDATE
SET version = entity_state.version + excluded.version,
    last_sequence = greatest(entity_state.last_sequence, excluded.last_sequence),
    last_event_id = CASE WHEN excluded.last_sequence >= entity_state.last_sequence
                         THEN excluded.last_event_id ELSE entity_state.last_event_id END,
    last_event_type = CASE WHEN excluded.last_sequence >= entity_state.last_sequence
                           THEN excluded.last_event_type ELSE entity_state.last_event_type END,
    state = excluded.state,
    state_sealed = excluded.state_sealed,
    state_key_id = excluded.state_key_id,
    state_event_sequence = NULL,
    updated_at = now()
