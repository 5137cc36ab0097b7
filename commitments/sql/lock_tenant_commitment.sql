-- One commitment of one tenant, row-locked while its anchor transaction is sent, so two anchoring
-- calls of the same commitment never send two transactions (another tenant's reads as none). The
-- columns of commitment_from_row, then anchor_pending_tx_hash (an anchor transaction sent earlier
-- whose receipt was not seen: waited for before another is sent).
-- Index: primary key (tenant_id, batch_id): one shard when distributed. Locks: the row (FOR UPDATE).
-- Rows: 0..1.
SELECT batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request, anchor_pending_tx_hash
FROM commitments
WHERE tenant_id = %(tenant_id)s AND batch_id = %(batch_id)s
FOR UPDATE
