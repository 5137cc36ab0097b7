-- Record where one tenant's commitment was anchored (only once: a recorded anchor is never
-- overwritten); no transaction is pending any more (its hash, signed bytes and nonce are cleared). Index: primary key (tenant_id, batch_id): one
-- shard when distributed. Locks: the row (the caller holds it already). Rows: 0..1.
UPDATE commitments
SET chain_id = %(chain_id)s, chain_tx_hash = %(chain_tx_hash)s, chain_block_number = %(chain_block_number)s,
    anchored_at = now(), anchor_pending_tx_hash = NULL, anchor_signed_tx = NULL, anchor_tx_nonce = NULL
WHERE tenant_id = %(tenant_id)s AND batch_id = %(batch_id)s AND chain_tx_hash IS NULL
RETURNING batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
