-- The next events a projection consumes on each of several streams, with their checkpoints:
-- per stream, the sequence numbers after its checkpoint, at most its cap, in order. The caller
-- holds the streams' advisory locks (lock_projection_streams.sql); the checkpoint rows are locked
-- here for the update that commits with the projection's writes (exactly once). A stream with
-- nothing new still returns its checkpoint (one row, event columns NULL).
-- Index: projection_checkpoints primary key, one probe per stream; events primary key
-- (tenant_id, store_id, sequence_number), one range per stream (partition pruned at run time).
-- Locks: the checkpoint rows (FOR NO KEY UPDATE). Rows: per stream, max(1, its events).
SELECT s.position, c.last_sequence, e.sequence_number, e.event_id, e.entity_type, e.entity_id,
       e.event_type, e.payload, e.payload_format, e.created_at, e.sequenced_at
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(caps)b::bigint[])
     WITH ORDINALITY AS s(tenant_id, store_id, cap, position)
JOIN projection_checkpoints c
  ON c.projection = %(projection)s AND c.tenant_id = s.tenant_id AND c.store_id = s.store_id
LEFT JOIN LATERAL (
    SELECT ev.sequence_number, ev.event_id, ev.entity_type, ev.entity_id, ev.event_type,
           ev.payload, ev.payload_format, ev.created_at, ev.sequenced_at
    FROM events ev
    WHERE ev.tenant_id = s.tenant_id
      AND ev.store_id = s.store_id
      AND ev.sequence_number > c.last_sequence
      AND ev.sequence_number <= c.last_sequence + s.cap
    ORDER BY ev.sequence_number
) AS e ON true
ORDER BY s.position, e.sequence_number
FOR NO KEY UPDATE OF c
