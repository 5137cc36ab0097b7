-- The chain commitment of a stream whose range holds sequence_number (at most one: chain ranges
-- never overlap; on-request rows may, and are only reached by batch id).
-- Index: commitments_stream_end_idx (first end >= seq). Locks: none.
SELECT batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
FROM commitments
WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s AND stream_kind = %(stream_kind)s
  AND sequence_end >= %(sequence_number)s AND sequence_start <= %(sequence_number)s
  AND NOT on_request
ORDER BY sequence_end
LIMIT 1
