-- Streams of one kind whose head is past a projection's checkpoint (work for the runner), of
-- one shard: the runner's ticks split the streams by a hash of (tenant_id, store_id) so that
-- PROJECTION_SHARDS workers advance disjoint streams at once (shards = 1: every stream).
-- The split only spreads work: exactly-once comes from the per-stream advisory lock.
-- Index: scans sequence_counters (one row per stream and kind), probes the checkpoint primary
-- key per stream. Locks: none. Rows: at most the given limit, least recently written first;
-- has_checkpoint false for a stream the projection has never advanced (no checkpoint row yet).
SELECT c.tenant_id, c.store_id, c.current_sequence, coalesce(p.last_sequence, 0) AS last_sequence,
       p.projection IS NOT NULL AS has_checkpoint
FROM sequence_counters c
LEFT JOIN projection_checkpoints p
  ON p.projection = %(projection)s AND p.tenant_id = c.tenant_id AND p.store_id = c.store_id
WHERE c.stream_kind = %(stream_kind)s
  AND c.current_sequence > coalesce(p.last_sequence, 0)
  AND mod(hashtext(c.tenant_id::text || c.store_id::text) & 2147483647, %(shards)s) = %(shard)s
ORDER BY c.updated_at
LIMIT %(limit)s
