-- Keep the anchor transaction just signed for one tenant's unanchored commitment: its hash, its
-- signed bytes and its nonce, committed before the bytes are sent, so an attempt that dies before
-- or after sending leaves them for the next one (which sends exactly these bytes again or waits
-- for them: the chain mines them at most once). Index: primary key (tenant_id, batch_id): one
-- shard when distributed. Locks: the row (the caller holds it already). Rows: 0..1.
UPDATE commitments
SET anchor_pending_tx_hash = %(tx_hash)s, anchor_signed_tx = %(raw_transaction)s, anchor_tx_nonce = %(nonce)s
WHERE tenant_id = %(tenant_id)s AND batch_id = %(batch_id)s AND chain_tx_hash IS NULL
