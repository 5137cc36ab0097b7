-- The chain tips of several streams of one kind, in one round trip: per stream (position in the
-- arrays, from 1) its latest chain commitment (highest sequence_end; the columns of
-- commitment_from_row, all NULL before the first), which the next one must follow, and its head
-- (0 when never written). On-request rows are not links of the chain. One statement, so every
-- tip and head is read from the same snapshot.
-- Index: per stream commitments_stream_end_idx backwards and the counter's primary key.
-- Locks: none. Rows: one per stream, in the arrays' order.
SELECT c.batch_id, c.tenant_id, c.store_id, c.stream_kind, c.ves_version, c.tree_depth, c.leaf_count,
       c.padded_leaf_count, c.merkle_root, c.prev_state_root, c.new_state_root, c.sequence_start,
       c.sequence_end, c.committed_at, c.chain_id, c.chain_tx_hash, c.chain_block_number, c.anchored_at,
       c.on_request, coalesce(k.current_sequence, 0) AS head
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[]) WITH ORDINALITY AS s(tenant_id, store_id, position)
LEFT JOIN sequence_counters k
  ON k.tenant_id = s.tenant_id AND k.store_id = s.store_id AND k.stream_kind = %(stream_kind)s
LEFT JOIN LATERAL (
    SELECT *
    FROM commitments m
    WHERE m.tenant_id = s.tenant_id AND m.store_id = s.store_id AND m.stream_kind = %(stream_kind)s
      AND NOT m.on_request
    ORDER BY m.sequence_end DESC
    LIMIT 1
) AS c ON true
ORDER BY s.position
