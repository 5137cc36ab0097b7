-- One commitment of one tenant, row-locked while its anchor transaction is sent, so two anchoring
-- calls of the same commitment never send two transactions (another tenant's reads as none). The
-- columns of commitment_from_row, then the anchor transaction kept on the row (anchor_pending_tx_hash,
-- anchor_signed_tx, anchor_tx_nonce: signed and committed before it is sent, so a later attempt sends
-- those bytes again or waits for them instead of signing another), anchor_attempts (failed sends) and
-- anchor_given_up_at (ANCHOR_MAX_ATTEMPTS reached).
-- Index: primary key (tenant_id, batch_id): one shard when distributed. Locks: the row (FOR UPDATE).
-- Rows: 0..1.
SELECT batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth, leaf_count, padded_leaf_count,
       merkle_root, prev_state_root, new_state_root, sequence_start, sequence_end, committed_at,
       chain_id, chain_tx_hash, chain_block_number, anchored_at, on_request, anchor_pending_tx_hash,
       anchor_signed_tx, anchor_tx_nonce, anchor_attempts, anchor_given_up_at
FROM commitments
WHERE tenant_id = %(tenant_id)s AND batch_id = %(batch_id)s
FOR UPDATE
