-- Streams (legacy and VES) whose head is past their last committed sequence_end: the work of
-- one automatic commitment tick. Index: a scan of sequence_counters (one row per stream) and
-- commitments_stream_end_idx per stream. Locks: none. Rows: at most limit.
SELECT c.tenant_id, c.store_id, c.stream_kind, c.current_sequence,
       coalesce(m.last_end, 0) AS last_end
FROM sequence_counters c
LEFT JOIN LATERAL (
    SELECT max(k.sequence_end) AS last_end FROM commitments k
    WHERE k.tenant_id = c.tenant_id AND k.store_id = c.store_id AND k.stream_kind = c.stream_kind
      AND NOT k.on_request  -- the chain's end (on-request rows are beside it, ADR 0020)
) m ON true
WHERE c.stream_kind IN (1, 2) AND c.current_sequence > coalesce(m.last_end, 0)
ORDER BY c.current_sequence - coalesce(m.last_end, 0) DESC
LIMIT %(limit)s
