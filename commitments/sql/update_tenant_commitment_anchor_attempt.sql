-- Note an anchoring attempt of one tenant's unanchored commitment: the anchor transaction to wait
-- for (sent, receipt not seen yet; NULL when there is none) and, when the attempt failed, its time
-- (anchor_error_at). Index: primary key (tenant_id, batch_id): one shard when distributed.
-- Locks: the row (the caller holds it already). Rows: 0..1.
UPDATE commitments
SET anchor_pending_tx_hash = %(pending_tx_hash)s,
    anchor_error_at = CASE WHEN %(failed)s THEN now() ELSE anchor_error_at END
WHERE tenant_id = %(tenant_id)s AND batch_id = %(batch_id)s AND chain_tx_hash IS NULL
