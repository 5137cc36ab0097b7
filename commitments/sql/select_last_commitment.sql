-- The stream's chain's latest commitment (highest sequence_end), which the next one must follow;
-- on-request rows are not links of the chain. Index: commitments_stream_end_idx, backwards.
-- Locks: none.
SELECT batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
FROM commitments
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s AND stream_kind = %(stream_kind)s
  AND NOT on_request
ORDER BY sequence_end DESC
LIMIT 1
