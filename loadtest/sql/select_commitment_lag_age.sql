-- Commitment lag in time: how long ago the oldest event of a legacy stream not yet sealed into
-- the stream's chain was sequenced (seconds; 0 when every legacy stream is committed). The
-- capacity runs load legacy streams only.
-- Index: as select_commitment_lag.sql, then the events primary key once per stream behind.
-- Locks: none. Rows: one.
SELECT coalesce(extract(epoch FROM now() - min(e.sequenced_at)), 0)::float8
FROM sequence_counters c
LEFT JOIN LATERAL (
    SELECT max(k.sequence_end) AS last_end FROM commitments k
    WHERE k.tenant_id = c.tenant_id AND k.store_id = c.store_id AND k.stream_kind = c.stream_kind
      AND NOT k.on_request
) m ON true
JOIN events e
  ON e.tenant_id = c.tenant_id AND e.store_id = c.store_id
 AND e.sequence_number = coalesce(m.last_end, 0) + 1
WHERE c.stream_kind = 1
  AND c.current_sequence > coalesce(m.last_end, 0)
