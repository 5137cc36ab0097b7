-- A projection's lag in time: how long ago the oldest event it has not applied yet was
-- sequenced, over all legacy streams (seconds; 0 when every stream is caught up). The capacity
-- runs' "lag < 5 s" is read from this, not from a count of events.
-- Index: scans sequence_counters of the kind, probes the checkpoint and the events primary key
-- once per stream behind. Locks: none. Rows: one.
SELECT coalesce(extract(epoch FROM now() - min(e.sequenced_at)), 0)::float8
FROM sequence_counters c
LEFT JOIN projection_checkpoints p
  ON p.projection = %(projection)s AND p.tenant_id = c.tenant_id AND p.store_id = c.store_id
JOIN events e
  ON e.tenant_id = c.tenant_id AND e.store_id = c.store_id
 AND e.sequence_number = coalesce(p.last_sequence, 0) + 1
WHERE c.stream_kind = 1
  AND c.current_sequence > coalesce(p.last_sequence, 0)
