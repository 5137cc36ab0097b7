-- One commitment, row-locked while its anchor transaction is sent, so two anchoring calls of the
-- same commitment never send two transactions. Index: commitments_batch_id_idx. Locks: the row (FOR UPDATE).
SELECT batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
FROM commitments
WHERE batch_id = %(batch_id)s
FOR UPDATE
