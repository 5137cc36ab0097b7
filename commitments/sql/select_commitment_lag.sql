-- Commitment lag, in sequenced but uncommitted events: the largest of any legacy or VES stream
-- (equal to what commitment_tick publishes: the backlog of the first of select_pending_streams.sql),
-- then the sum over all of them (the load tests' drain series; loadtest/background.py).
-- Index: as select_pending_streams.sql. Locks: none. Rows: one.
SELECT coalesce(max(c.current_sequence - coalesce(m.last_end, 0)), 0),
       coalesce(sum(c.current_sequence - coalesce(m.last_end, 0)), 0)
FROM sequence_counters c
LEFT JOIN LATERAL (
    SELECT max(k.sequence_end) AS last_end FROM commitments k
    WHERE k.tenant_id = c.tenant_id AND k.store_id = c.store_id AND k.stream_kind = c.stream_kind
      AND NOT k.on_request  -- the chain's end (on-request rows are beside it, ADR 0020)
) m ON true
WHERE c.stream_kind IN (1, 2)
