-- Per stream of one tenant: stored count, lowest/highest number and the counter's head.
-- Used by the reliability checks: a stream is sound when count = max = head and min = 1.
-- Index: events partition of the tenant (hash pruning), sequence_counters primary key.
-- Locks: none. Rows: one per stream of the tenant.
SELECT c.store_id::text, c.current_sequence, count(e.sequence_number), coalesce(min(e.sequence_number), 0),
       coalesce(max(e.sequence_number), 0), count(DISTINCT e.sequence_number)
FROM sequence_counters c
LEFT JOIN events e ON e.tenant_id = c.tenant_id AND e.store_id = c.store_id
WHERE c.tenant_id = %(tenant_id)s AND c.stream_kind = 1
GROUP BY c.store_id, c.current_sequence
