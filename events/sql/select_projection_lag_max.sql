-- The largest lag (events behind the head) of a projection over all streams: the
-- projection_lag_events gauge. Index: scans sequence_counters of the kind, probes checkpoints.
-- Locks: none. Rows: one.
SELECT coalesce(max(c.current_sequence - coalesce(p.last_sequence, 0)), 0)
FROM sequence_counters c
LEFT JOIN projection_checkpoints p
  ON p.projection = %(projection)s AND p.tenant_id = c.tenant_id AND p.store_id = c.store_id
WHERE c.stream_kind = %(stream_kind)s
