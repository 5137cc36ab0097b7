-- A page of commitments (chain and on-request) of one stream kind, oldest range first, optionally
-- for one tenant, one store, the stores of a store-scoped credential, and anchored or not (NULL
-- parameters do not filter). The scope is in the query so every page is full.
-- Index: commitments_stream_end_idx when the stream is named; otherwise a scan of the kind.
-- Locks: none. Rows: at most limit.
SELECT batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request
FROM commitments
WHERE stream_kind = %(stream_kind)s
  AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
  AND (%(store_id)s::uuid IS NULL OR store_id = %(store_id)s::uuid)
  AND (%(store_ids)b::uuid[] IS NULL OR store_id = ANY(%(store_ids)b::uuid[]))
  AND (%(anchored)s::boolean IS NULL OR (chain_tx_hash IS NOT NULL) = %(anchored)s::boolean)
ORDER BY tenant_id, store_id, sequence_start, sequence_end, batch_id
LIMIT %(limit)s OFFSET %(offset)s
