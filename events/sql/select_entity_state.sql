-- The projected state of one entity, for GET /entities/{type}/{id}/state.
-- Index: entity_state primary key; for a state by reference (ADR 0036) the events primary key,
-- one probe. Locks: none. Rows: zero or one (state plain or sealed,
-- events/projections/state_crypto.py, or the payload columns of the one event it refers to).
SELECT s.version, s.last_sequence, s.last_event_id, s.last_event_type, s.state, s.state_sealed,
       s.state_key_id, s.updated_at, s.state_event_sequence, ev.event_id, ev.event_type, ev.payload,
       ev.payload_format
FROM entity_state s
LEFT JOIN events ev
  ON s.state_event_sequence IS NOT NULL
 AND ev.tenant_id = s.tenant_id
 AND ev.store_id = s.store_id
 AND ev.sequence_number = s.state_event_sequence
WHERE s.tenant_id = %(tenant_id)s AND s.store_id = %(store_id)s
  AND s.entity_type = %(entity_type)s AND s.entity_id = %(entity_id)s
