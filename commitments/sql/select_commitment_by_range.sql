-- The commitment of a stream sealing exactly sequence_start..sequence_end, for an idempotent
-- repeated request: a requested row first (a range once answered with it keeps that answer),
-- else the chain's. Index: commitments_requested_range_key, commitments_chain_start_key.
-- Locks: none (caller holds the COMMITMENT_STREAM lock). Rows: at most one.
SELECT batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
FROM commitments
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s AND stream_kind = %(stream_kind)s
  AND sequence_start = %(sequence_start)s AND sequence_end = %(sequence_end)s
ORDER BY on_request DESC
LIMIT 1
