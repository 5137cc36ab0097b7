-- Seal one range: a link of the chain (on_request false, after the contiguity checks; the
-- unique chain start key backs them up) or an on-request row (the unique range key backs up the
-- idempotency check). Runs under the COMMITMENT_STREAM advisory lock. Locks: the new row.
INSERT INTO commitments (batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count,
                         padded_leaf_count, merkle_root, prev_state_root, new_state_root, sequence_start,
                         sequence_end, committed_at, on_request)
VALUES (%(batch_id)s, %(tenant_id)s, %(store_id)s, %(stream_kind)s, %(ves_version)s, %(tree_depth)s,
        %(leaf_count)s, %(padded_leaf_count)s, %(merkle_root)s, %(prev_state_root)s, %(new_state_root)s,
        %(sequence_start)s, %(sequence_end)s, now(), %(on_request)s)
RETURNING batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
