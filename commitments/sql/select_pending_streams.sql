-- Streams (legacy and VES) whose head is past their last committed sequence_end: the work of
-- one automatic commitment tick, the least recently sealed first (never sealed before all), so
-- a stream with one new event is listed within a few ticks however many busier streams are
-- behind (ordered by backlog, more than %(limit)s busy streams kept a quiet one out of every
-- tick: its commitment waited 90 s while they stayed busy). max_backlog is the largest backlog of
-- every pending stream, listed or not (the commitment lag). Index: a scan of sequence_counters
-- (one row per stream) and one backward probe of commitments_stream_end_idx per stream (the
-- chain's last link: its end and when it was sealed). Locks: none. Rows: at most %(limit)s.
SELECT c.tenant_id, c.store_id, c.stream_kind, c.current_sequence,
       coalesce(m.last_end, 0) AS last_end,
       max(c.current_sequence - coalesce(m.last_end, 0)) OVER () AS max_backlog
FROM sequence_counters c
LEFT JOIN LATERAL (
    SELECT k.sequence_end AS last_end, k.committed_at AS sealed_at
    FROM commitments k
    WHERE k.tenant_id = c.tenant_id AND k.store_id = c.store_id AND k.stream_kind = c.stream_kind
      AND NOT k.on_request  -- the chain's end (on-request rows are beside it, ADR 0020)
    ORDER BY k.sequence_end DESC
    LIMIT 1
) m ON true
WHERE c.stream_kind IN (1, 2) AND c.current_sequence > coalesce(m.last_end, 0)
ORDER BY m.sealed_at ASC NULLS FIRST, c.current_sequence - coalesce(m.last_end, 0) DESC
LIMIT %(limit)s
