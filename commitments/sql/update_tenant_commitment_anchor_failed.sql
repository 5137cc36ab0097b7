-- Count a failed send of one tenant's unanchored commitment (its anchor transaction reverted, or
-- its gas estimate said it would): no transaction is kept any more, anchor_error_at is stamped,
-- anchor_attempts goes up by one, and once it reaches max_attempts (ANCHOR_MAX_ATTEMPTS) the
-- commitment is given up (anchor_given_up_at: the sweep leaves it until an operator re-arms it).
-- Waiting for a pending transaction never comes here. Index: primary key (tenant_id, batch_id):
-- one shard when distributed. Locks: the row (the caller holds it already). Rows: 0..1.
UPDATE commitments
SET anchor_pending_tx_hash = NULL, anchor_signed_tx = NULL, anchor_tx_nonce = NULL, anchor_error_at = now(),
    anchor_attempts = coalesce(anchor_attempts, 0) + 1,
    anchor_given_up_at = CASE
        WHEN coalesce(anchor_attempts, 0) + 1 >= %(max_attempts)s THEN coalesce(anchor_given_up_at, now())
        ELSE anchor_given_up_at
    END
WHERE tenant_id = %(tenant_id)s AND batch_id = %(batch_id)s AND chain_tx_hash IS NULL
RETURNING anchor_attempts, anchor_given_up_at
