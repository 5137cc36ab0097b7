-- A stream's chain tip in one round trip: its latest chain commitment (highest sequence_end; the
-- columns of commitment_from_row, all NULL before the first), which the next one must follow,
-- and the stream's head (0 when never written). On-request rows are not links of the chain.
-- One statement, so both are read from the same snapshot.
-- Index: commitments_stream_end_idx, backwards; the counter's primary key. Locks: none.
SELECT c.batch_id, c.tenant_id, c.store_id, c.stream_kind, c.ves_version, c.tree_depth, c.leaf_count,
       c.padded_leaf_count, c.merkle_root, c.prev_state_root, c.new_state_root, c.sequence_start,
       c.sequence_end, c.committed_at, c.chain_id, c.chain_tx_hash, c.chain_block_number, c.anchored_at,
       c.on_request,
       coalesce((SELECT k.current_sequence FROM sequence_counters k
                 WHERE k.tenant_id = %(tenant_id)s AND k.store_id = %(store_id)s
                   AND k.stream_kind = %(stream_kind)s), 0) AS head
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT *
    FROM commitments
    WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s AND stream_kind = %(stream_kind)s
      AND NOT on_request
    ORDER BY sequence_end DESC
    LIMIT 1
) AS c ON true
