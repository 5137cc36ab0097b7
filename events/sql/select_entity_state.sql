-- The projected state of one entity, for GET /entities/{type}/{id}/state.
-- Index: entity_state primary key. Locks: none. Rows: zero or one (state plain or sealed,
-- events/projections/state_crypto.py).
SELECT version, last_sequence, last_event_id, last_event_type, state, state_sealed, state_key_id, updated_at
FROM entity_state
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
  AND entity_type = %(entity_type)s AND entity_id = %(entity_id)s
