-- Note an anchoring attempt of one tenant's unanchored commitment: the anchor transaction to wait
-- for (its hash; NULL when there is none) and, when the attempt failed, its time (anchor_error_at).
-- The signed bytes and nonce of that transaction stay only while its hash does. Failures of the
-- chain or of the send lock are noted here; a failed send (a revert) goes through
-- update_tenant_commitment_anchor_failed.sql instead. Index: primary key (tenant_id, batch_id): one
-- shard when distributed. Locks: the row (the caller holds it already). Rows: 0..1.
UPDATE commitments
SET anchor_pending_tx_hash = %(pending_tx_hash)s,
    anchor_signed_tx = CASE WHEN %(pending_tx_hash)s::bytea IS NULL THEN NULL ELSE anchor_signed_tx END,
    anchor_tx_nonce = CASE WHEN %(pending_tx_hash)s::bytea IS NULL THEN NULL ELSE anchor_tx_nonce END,
    anchor_error_at = CASE WHEN %(failed)s THEN now() ELSE anchor_error_at END
WHERE tenant_id = %(tenant_id)s AND batch_id = %(batch_id)s AND chain_tx_hash IS NULL
