-- The total lag of a projection: events behind summed over all streams of its kind (the
-- capacity runs' drain series; select_projection_lag_max.sql is the gauge's largest lag).
-- Index: scans sequence_counters of the kind, probes checkpoints. Locks: none. Rows: one.
SELECT coalesce(sum(c.current_sequence - coalesce(p.last_sequence, 0)), 0)
FROM sequence_counters c
LEFT JOIN projection_checkpoints p
  ON p.projection = %(projection)s AND p.tenant_id = c.tenant_id AND p.store_id = c.store_id
WHERE c.stream_kind = %(stream_kind)s
