-- The projected state of one entity, for GET /entities/{type}/{id}/state.
-- Index: entity_state primary key; for a state by reference (ADR 0036) one events probe that
-- names every column of every events index (primary key, events_entity_idx,
-- events_tenant_event_id_key), so whichever the planner takes is probed by its whole key, also
-- in a generic plan without statistics (select_entity_states_for_update.sql says why: a probe by
-- the primary key's columns alone read the whole stream). The event is the row's entity's, and
-- last_event_id is that event while the reference stands (upsert_entity_states.sql clears it).
-- Locks: none. Rows: zero or one (state plain or sealed, events/projections/state_crypto.py, or
-- the payload columns of the one event it refers to).
SELECT s.version, s.last_sequence, s.last_event_id, s.last_event_type, s.state, s.state_sealed,
       s.state_key_id, s.updated_at, s.state_event_sequence, ev.event_id, ev.event_type, ev.payload,
       ev.payload_format
FROM entity_state s
LEFT JOIN LATERAL (
    SELECT e.event_id, e.event_type, e.payload, e.payload_format
    FROM events e
    WHERE s.state_event_sequence IS NOT NULL
      AND e.tenant_id = s.tenant_id
      AND e.store_id = s.store_id
      AND e.sequence_number = s.state_event_sequence
      AND e.entity_type = s.entity_type
      AND e.entity_id = s.entity_id
      AND e.event_id = s.last_event_id
    LIMIT 1
) AS ev ON true
WHERE s.tenant_id = %(tenant_id)s AND s.store_id = %(store_id)s
  AND s.entity_type = %(entity_type)s AND s.entity_id = %(entity_id)s
