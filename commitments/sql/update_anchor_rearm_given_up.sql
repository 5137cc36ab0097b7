-- Re-arm every unanchored commitment given up after ANCHOR_MAX_ATTEMPTS failed sends (manage.py
-- anchor_rearm --all-given-up, or --tenant alone), of one tenant when tenant_id is given: failed
-- sends back to 0, not given up, due for the next sweep (anchor_swept_at cleared).
-- Index: commitments_anchor_given_up_idx (partial: the given-up unanchored rows only).
-- Every tenant's rows without tenant_id: a coordinator path when distributed.
-- Locks: those rows. Rows: as many as are given up.
UPDATE commitments
SET anchor_attempts = 0, anchor_given_up_at = NULL, anchor_swept_at = NULL
WHERE anchor_given_up_at IS NOT NULL
  AND chain_tx_hash IS NULL
  AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
RETURNING tenant_id, batch_id
