-- Write an entity's merged state after applying one event (version counts applied events).
-- Index: entity_state primary key. Locks: the row. Rows: none returned.
INSERT INTO entity_state (tenant_id, store_id, entity_type, entity_id, version, last_sequence,
                          last_event_id, last_event_type, state, updated_at)
VALUES (%(tenant_id)s, %(store_id)s, %(entity_type)s, %(entity_id)s, 1, %(sequence_number)s,
        %(event_id)s, %(event_type)s, %(state)s::jsonb, now())
ON CONFLICT (tenant_id, store_id, entity_type, entity_id) DO UPDATE
SET version = entity_state.version + 1,
    last_sequence = greatest(entity_state.last_sequence, excluded.last_sequence),
    last_event_id = CASE WHEN excluded.last_sequence >= entity_state.last_sequence
                         THEN excluded.last_event_id ELSE entity_state.last_event_id END,
    last_event_type = CASE WHEN excluded.last_sequence >= entity_state.last_sequence
                           THEN excluded.last_event_type ELSE entity_state.last_event_type END,
    state = excluded.state,
    updated_at = now()
