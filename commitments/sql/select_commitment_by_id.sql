-- One commitment by batch id alone, of one stream kind: the bootstrap admin's read (every tenant;
-- it fans out to every shard when distributed). Index: commitments_batch_id_idx. Locks: none.
SELECT batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
FROM commitments
WHERE batch_id = %(batch_id)s AND stream_kind = %(stream_kind)s
