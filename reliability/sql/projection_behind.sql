-- Legacy streams of one tenant whose entity_state projection checkpoint is behind the head.
-- Index: sequence_counters and projection_checkpoints primary keys. Locks: none.
-- Rows: one per lagging stream (zero once the projection has caught up).
SELECT c.store_id::text, c.current_sequence, coalesce(p.last_sequence, 0)
FROM sequence_counters c
LEFT JOIN projection_checkpoints p
  ON p.projection = 'entity_state' AND p.tenant_id = c.tenant_id AND p.store_id = c.store_id
WHERE c.tenant_id = %(tenant_id)s AND c.stream_kind = 1 AND c.current_sequence > coalesce(p.last_sequence, 0)
