-- Unanchored VES commitments of every tenant, oldest first, for the separate anchor service
-- (GET /v1/commitments/pending). Index: commitments_kind_committed_idx. Locks: none.
-- Rows: at most limit.
SELECT batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
FROM commitments
WHERE stream_kind = 2 AND chain_tx_hash IS NULL
ORDER BY committed_at, batch_id
LIMIT %(limit)s
