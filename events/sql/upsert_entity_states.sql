-- Write the merged states of a batch's entities at once: ``applied`` events each, the state
-- after the last of them (rows arrive as one jsonb array, one row per entity), plain (state) or
-- sealed (state_sealed base64, state_key_id; the other form NULL: events/projections/state_crypto.py).
-- Index: entity_state primary key. Locks: the rows (already held). Rows: none returned.
INSERT INTO entity_state (tenant_id, store_id, entity_type, entity_id, version, last_sequence,
                          last_event_id, last_event_type, state, state_sealed, state_key_id,
                          updated_at)
SELECT %(tenant_id)s, %(store_id)s, r.entity_type, r.entity_id, r.applied, r.last_sequence,
       r.last_event_id, r.last_event_type, r.state, decode(r.state_sealed, 'base64'),
       r.state_key_id, now()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    entity_type text, entity_id text, applied bigint, last_sequence bigint, last_event_id uuid,
    last_event_type text, state jsonb, state_sealed text, state_key_id smallint)
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
    updated_at = now()
